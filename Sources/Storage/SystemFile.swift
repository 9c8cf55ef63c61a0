#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// An open file and its path: typed wrappers over the POSIX calls the durable layer needs
/// (`open`, `write`, `pwrite`, `pread`, `fsync`, `ftruncate`, `rename`, `unlink`, `close`).
///
/// In the style of swift-system's `FileDescriptor`: each call retries on `EINTR`, loops until
/// every byte is written, and reports failure as a value — a `StorageError` (`.ioFailure`) whose
/// one-line message names the path, the call and the errno (`ENOSPC` and `EIO` get an explicit
/// explanation, since they are what a full or failing disk produces during a long run).
public struct SystemFile {
  /// The open descriptor.
  public let descriptor: FileDescriptor
  /// The path the file was opened at (for messages).
  public let path: String

  private init(descriptor: FileDescriptor, path: String) {
    self.descriptor = descriptor
    self.path = path
  }

  /// Creates a new file for writing; with `exclusive` (the default) it must not exist yet.
  ///
  /// - Throws: `StorageError` (`.ioFailure`), e.g. `EEXIST`, `ENOENT`, `EACCES`, `ENOSPC`.
  public static func create(path: String, exclusive: Bool = true, permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]) throws -> SystemFile {
    var options: FileDescriptor.OpenOptions = [.create, .truncate]
    if exclusive { options.insert(.exclusiveCreate) }
    return try open(path: path, mode: .writeOnly, options: options, permissions: permissions)
  }

  /// Opens an existing file for reading.
  public static func openForReading(path: String) throws -> SystemFile {
    try open(path: path, mode: .readOnly, options: [], permissions: nil)
  }

  /// Opens a file for reading and writing, creating it (empty) if `create` and it is missing.
  public static func openForUpdate(path: String, create: Bool) throws -> SystemFile {
    try open(path: path, mode: .readWrite, options: create ? [.create] : [],
             permissions: [.ownerReadWrite, .groupRead, .otherRead])
  }

  /// Opens a directory (read-only) so that it can be fsynced.
  public static func openDirectory(path: String) throws -> SystemFile {
    try open(path: path, mode: .readOnly, options: [.directory], permissions: nil)
  }

  private static func open(path: String, mode: FileDescriptor.AccessMode, options: FileDescriptor.OpenOptions, permissions: FilePermissions?) throws -> SystemFile {
    do {
      let fd = try FileDescriptor.open(FilePath(path), mode, options: options.union(.closeOnExec), permissions: permissions)
      return SystemFile(descriptor: fd, path: path)
    } catch let errno as Errno {
      throw Self.error(errno, "open", path: path)
    }
  }

  /// Writes every byte of `buffer` at the current position (`write(2)` in a loop).
  public func writeAll(_ buffer: UnsafeRawBufferPointer) throws {
    do { _ = try descriptor.writeAll(buffer) } catch let errno as Errno { throw Self.error(errno, "write", path: path) }
  }

  /// Writes every byte of `bytes` at the current position.
  public func writeAll(_ bytes: [UInt8]) throws {
    try bytes.withUnsafeBytes { try writeAll($0) }
  }

  /// Writes every byte of `buffer` at byte `offset` (`pwrite(2)` in a loop); the position is unchanged.
  public func writeAll(_ buffer: UnsafeRawBufferPointer, atOffset offset: Int64) throws {
    do { _ = try descriptor.writeAll(toAbsoluteOffset: offset, buffer) } catch let errno as Errno {
      throw Self.error(errno, "pwrite at byte \(offset)", path: path)
    }
  }

  /// Reads up to `buffer.count` bytes at byte `offset` (`pread(2)` in a loop until full or end of file).
  ///
  /// - Returns: the number of bytes read; less than `buffer.count` only at the end of the file.
  public func read(atOffset offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    var done = 0
    while done < buffer.count {
      let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[done...])
      let n: Int
      do { n = try descriptor.read(fromAbsoluteOffset: offset + Int64(done), into: chunk) } catch let errno as Errno {
        throw Self.error(errno, "pread at byte \(offset + Int64(done))", path: path)
      }
      if n == 0 { break }
      done += n
    }
    return done
  }

  /// The whole file from the start, read with `pread`.
  public func readAll() throws -> [UInt8] {
    let size = try byteCount()
    var bytes = [UInt8](repeating: 0, count: size)
    let n = try bytes.withUnsafeMutableBytes { try read(atOffset: 0, into: $0) }
    if n < size { bytes.removeLast(size - n) }
    return bytes
  }

  /// The file's size in bytes (`fstat(2)`).
  public func byteCount() throws -> Int {
    var info = stat()
    guard fstat(descriptor.rawValue, &info) == 0 else { throw Self.error(Errno(rawValue: errno), "fstat", path: path) }
    return Int(info.st_size)
  }

  /// Flushes the file's data and metadata to stable storage (`fsync(2)`).
  public func sync() throws {
    while fsync(descriptor.rawValue) != 0 {
      let code = Errno(rawValue: errno)
      if code == .interrupted { continue }
      throw Self.error(code, "fsync", path: path)
    }
  }

  /// Sets the file's size (`ftruncate(2)`): truncates, or extends with zeros (sparse where supported).
  public func resize(to byteCount: Int64) throws {
    do { try descriptor.resize(to: byteCount) } catch let errno as Errno {
      throw Self.error(errno, "ftruncate to \(Plural.count(byteCount, "byte"))", path: path)
    }
  }

  /// Closes the descriptor.
  public func close() throws {
    do { try descriptor.close() } catch let errno as Errno { throw Self.error(errno, "close", path: path) }
  }

  /// Atomically replaces `destination` by `source` (`rename(2)`; both in the same file system).
  public static func rename(from source: String, to destination: String) throws {
    guard Glibc.rename(source, destination) == 0 else {
      throw error(Errno(rawValue: errno), "rename to \(destination)", path: source)
    }
  }

  /// Removes a file (`unlink(2)`); a missing file is not an error when `ignoreMissing`.
  public static func remove(path: String, ignoreMissing: Bool = false) throws {
    guard unlink(path) == 0 else {
      let code = Errno(rawValue: errno)
      if ignoreMissing && code == .noSuchFileOrDirectory { return }
      throw error(code, "unlink", path: path)
    }
  }

  /// Makes the directory entries of `path` durable (opens the directory, `fsync(2)`, closes it):
  /// needed after a `rename` or a file creation inside it.
  public static func syncDirectory(path: String) throws {
    let directory = try openDirectory(path: path)
    defer { try? directory.close() }
    try directory.sync()
  }

  /// Free bytes available to unprivileged users on the file system holding `path` (`statvfs(3)`).
  public static func availableBytes(path: String) throws -> Int64 {
    var info = statvfs()
    guard statvfs(path, &info) == 0 else { throw error(Errno(rawValue: errno), "statvfs", path: path) }
    return Int64(info.f_bavail) * Int64(info.f_frsize)
  }

  /// The `StorageError` for a failed call: path, call, errno name and number, and for a full or
  /// failing disk, what it means for the run.
  public static func error(_ code: Errno, _ operation: String, path: String) -> StorageError {
    var message = "\(operation) failed: \(code.description) (errno \(code.rawValue)"
    switch code {
    case .noSpace:
      message += ", ENOSPC): the disk is full; finished work is kept, free space and run again"
    case .ioError:
      message += ", EIO): the storage device reported an I/O error; check the disk, finished work up to the last synced record is kept"
    case .diskQuotaExceeded:
      message += ", EDQUOT): the disk quota is exhausted; free space and run again"
    default:
      message += ")"
    }
    return StorageError(.ioFailure, path: path, message)
  }
}
