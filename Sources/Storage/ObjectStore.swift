import Foundation

/// A content-addressed store of zstd-compressed byte blobs ("objects"), rooted at `RUN/objects`.
///
/// Layout: the object whose raw (uncompressed) bytes have SHA-256 `h` lives at
/// `objects/<h[0..<2]>/<h[2..<64]>` and holds one zstd frame of those bytes (`ZstdCodec`).
/// Writes are atomic and durable (`AtomicFile`: temp file, fsync, rename, fsync of the directory),
/// so after `put` returns the object survives a crash. Reads decompress and re-hash, so damage is
/// always detected, never returned.
public struct ObjectStore: Sendable {
  /// The `objects` directory.
  public let root: String
  /// The codec objects are compressed with.
  public let codec: ZstdCodec

  /// A store rooted at `root` (created on the first `put`).
  public init(root: String, codec: ZstdCodec = ZstdCodec()) {
    self.root = root
    self.codec = codec
  }

  /// The path of the object named `hash`.
  public func path(for hash: ContentHash) -> String {
    let hex = hash.hex
    let split = hex.index(hex.startIndex, offsetBy: 2)
    return root + "/" + hex[..<split] + "/" + hex[split...]
  }

  /// Stores `raw` and returns its name and sizes.
  ///
  /// The name is the SHA-256 of the raw bytes. An object already present and intact is not
  /// rewritten; one present but damaged is replaced.
  ///
  /// Write sequence (durable once `put` returns): the zstd frame is written to a temporary file
  /// `objects/.object.tmp-<pid>-<random>` as libzstd produces it (`ZstdCodec.compress(_:to:)`;
  /// past the page cache for raw sizes of at least `ZstdCodec.parallelByteCount`,
  /// `DirectFileWriter`), so no whole frame is ever held in memory; the SHA-256 of `raw` (the
  /// object's name) is computed while that file is `fsync`ed; the file is then renamed to
  /// the object's path and that directory `fsync`ed. If an intact object of that name is present
  /// meanwhile, the temporary file is removed instead. On any error the temporary file is removed
  /// and no object is created.
  ///
  /// - Throws: `StorageError` (`.ioFailure`) if writing or syncing fails (ENOSPC, EIO, …).
  public func put(_ raw: UnsafeRawBufferPointer) throws -> StoredObject {
    try put(raw, abandonIf: { false })!
  }

  /// As `put(_:)`, but `abandon` is asked before each piece of the frame is written
  /// (`ZstdCodec.streamChunkBytes` at a time): once it returns `true` the temporary file is
  /// removed and `nil` returned, no object created. A stop request (SIGTERM) so ends the storing
  /// of a tile of gigabytes within one piece instead of after all of it.
  ///
  /// - Throws: as `put(_:)`.
  public func put(_ raw: UnsafeRawBufferPointer, abandonIf abandon: () -> Bool) throws -> StoredObject? {
    struct Abandoned: Error {}
    try ensureDirectory(root)
    let temporary = AtomicFile.temporaryPath(for: root + "/" + Self.temporaryStem)
    let file = try SystemFile.create(path: temporary)
    // Until it is renamed to the object's path, the temporary file goes on every way out.
    var open = true, renamed = false
    defer {
      if open { try? file.close() }
      if !renamed { try? SystemFile.remove(path: temporary, ignoreMissing: true) }
    }
    let writer = try DirectFileWriter(file: file, direct: raw.count >= ZstdCodec.parallelByteCount)
    var hash: ContentHash?
    let storedByteCount: Int
    do {
      storedByteCount = try codec.compress(raw, name: temporary) { piece in
        if abandon() { throw Abandoned() }
        try writer.write(piece)
      }
    } catch is Abandoned {
      return nil
    }
    try writer.finish()
    // fsync waits for the disk, not the CPU: hash the raw bytes meanwhile on another thread.
    var syncError: Error?
    DispatchQueue.concurrentPerform(iterations: 2) { part in
      if part == 0 {
        do { try file.sync() } catch { syncError = error }
      } else {
        hash = ContentHash.sha256(raw)
      }
    }
    if let syncError { throw syncError }
    open = false
    try file.close()
    let name = hash!
    if case .intact(let stored) = condition(of: name, rawByteCount: raw.count) {
      return StoredObject(hash: name, rawByteCount: raw.count, storedByteCount: stored)
    }
    let destination = path(for: name)
    try ensureDirectory(AtomicFile.directory(of: destination))
    try SystemFile.rename(from: temporary, to: destination)
    renamed = true
    try SystemFile.syncDirectory(path: AtomicFile.directory(of: destination))
    return StoredObject(hash: name, rawByteCount: raw.count, storedByteCount: storedByteCount)
  }

  /// The name the temporary files of `put` are derived from (`objects/.object.tmp-<pid>-<random>`).
  static let temporaryStem = "object"

  /// Stores `raw` (an array, `Data`, …); see `put(_:)`.
  public func put<Bytes: ContiguousBytes>(_ raw: Bytes) throws -> StoredObject {
    try raw.withUnsafeBytes { try put($0) }
  }

  /// The raw bytes of object `hash`, decompressed and re-hashed.
  ///
  /// - Parameter rawByteCount: the expected raw size in bytes (from the journal); when `nil`, the
  ///   size the zstd frame declares is used, up to `maximumRawByteCount`.
  /// - Throws: `StorageError` naming the object's path: `.badInput` when it is missing, not a
  ///   zstd frame, of the wrong size, or its content does not hash to `hash`; `.ioFailure` when
  ///   it cannot be read.
  public func read(_ hash: ContentHash, rawByteCount: Int? = nil, maximumRawByteCount: Int = 1 << 34) throws -> [UInt8] {
    let location = path(for: hash)
    guard FileManager.default.fileExists(atPath: location) else {
      throw StorageError(path: location, "object \(hash.hex) is missing")
    }
    let file = try SystemFile.openForReading(path: location)
    defer { try? file.close() }
    let frame = try file.readAll()
    let expected: Int
    if let rawByteCount {
      expected = rawByteCount
    } else {
      guard let declared = frame.withUnsafeBytes({ codec.declaredRawByteCount($0) }), declared <= maximumRawByteCount else {
        throw StorageError(path: location, "object \(hash.hex) is damaged: no valid zstd frame header")
      }
      expected = declared
    }
    let raw: [UInt8]
    do {
      raw = try codec.decompress(frame, rawByteCount: expected, name: location)
    } catch let error as StorageError {
      throw StorageError(error.kind, path: location, "object \(hash.hex) is damaged: \(error.message)")
    }
    let actual = ContentHash.sha256(raw)
    guard actual == hash else {
      throw StorageError(path: location, "object \(hash.hex) is damaged: its content hashes to \(actual.hex)")
    }
    return raw
  }

  /// Whether object `hash` is present, and if so whether it decompresses to `rawByteCount` bytes
  /// hashing to `hash`. Never throws: unreadable objects are `.damaged` with the reason.
  public func condition(of hash: ContentHash, rawByteCount: Int? = nil) -> ObjectCondition {
    let location = path(for: hash)
    guard FileManager.default.fileExists(atPath: location) else { return .missing }
    do {
      _ = try read(hash, rawByteCount: rawByteCount)
      let attributes = try? FileManager.default.attributesOfItem(atPath: location)
      let stored = (attributes?[.size] as? NSNumber)?.intValue ?? 0
      return .intact(storedByteCount: stored)
    } catch let error as StorageError {
      return .damaged(error.message)
    } catch {
      return .damaged("\(error)")
    }
  }

  /// Names of all objects present, sorted. Temporary files and foreign names are skipped.
  ///
  /// - Throws: `StorageError` (`.ioFailure`) if a directory cannot be listed.
  public func list() throws -> [ContentHash] {
    var hashes: [ContentHash] = []
    for prefix in try entries(of: root) where prefix.utf8.count == 2 {
      for name in try entries(of: root + "/" + prefix) where !AtomicFile.isTemporaryName(name) {
        if let hash = ContentHash(hex: prefix + name), hash.hex == prefix + name { hashes.append(hash) }
      }
    }
    return hashes.sorted()
  }

  /// Removes object `hash` (missing is not an error) and syncs its directory.
  public func remove(_ hash: ContentHash) throws {
    let location = path(for: hash)
    try SystemFile.remove(path: location, ignoreMissing: true)
    try SystemFile.syncDirectory(path: AtomicFile.directory(of: location))
  }

  /// Paths of temporary files left in the store by interrupted writes.
  public func temporaryFiles() throws -> [String] {
    var found: [String] = []
    for name in try entries(of: root) where AtomicFile.isTemporaryName(name) { found.append(root + "/" + name) }
    for prefix in try entries(of: root) where prefix.utf8.count == 2 {
      for name in try entries(of: root + "/" + prefix) where AtomicFile.isTemporaryName(name) {
        found.append(root + "/" + prefix + "/" + name)
      }
    }
    return found.sorted()
  }

  /// Removes every temporary file (only safe while no writer holds the run's lock).
  ///
  /// - Returns: the paths removed.
  @discardableResult
  public func removeTemporaryFiles() throws -> [String] {
    let leftovers = try temporaryFiles()
    for path in leftovers { try SystemFile.remove(path: path, ignoreMissing: true) }
    return leftovers
  }

  /// Entries of a directory, sorted; a missing directory has none.
  private func entries(of directory: String) throws -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else { return [] }
    do {
      return try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    } catch {
      throw StorageError(.ioFailure, path: directory, "cannot list directory: \(error.localizedDescription)")
    }
  }

  /// Creates `directory` (and `root`) if missing, syncing each parent so the new entry is durable.
  private func ensureDirectory(_ directory: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue { return }
    if directory != root { try ensureDirectory(AtomicFile.directory(of: directory)) }
    try SystemFile.createDirectoryDurably(path: directory)
  }
}

/// What `ObjectStore.put` stored.
public struct StoredObject: Equatable, Codable, Sendable {
  /// SHA-256 of the raw bytes (the object's name).
  public var hash: ContentHash
  /// Size of the raw (uncompressed) bytes.
  public var rawByteCount: Int
  /// Size of the object file (the zstd frame), in bytes.
  public var storedByteCount: Int

  public init(hash: ContentHash, rawByteCount: Int, storedByteCount: Int) {
    self.hash = hash
    self.rawByteCount = rawByteCount
    self.storedByteCount = storedByteCount
  }
}

/// The state of one object on disk, as `ObjectStore.condition(of:rawByteCount:)` finds it.
public enum ObjectCondition: Equatable, Sendable {
  /// Present; decompresses to the expected size and hash. Carries the file size in bytes.
  case intact(storedByteCount: Int)
  /// No file at the object's path.
  case missing
  /// Present but unreadable, truncated, of the wrong size or hash; carries the reason.
  case damaged(String)
}
