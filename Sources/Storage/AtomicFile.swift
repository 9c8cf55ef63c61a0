import Foundation

/// Durable whole-file replacement: the file at a path is either its old content or the complete
/// new content, never a mix, even across a crash or power loss.
///
/// Recipe: write a temporary file in the same directory (`.<name>.tmp-<pid>-<n>`), `fsync` it,
/// `rename` it over the destination, then `fsync` the directory so the rename itself is durable.
/// Leftover temporaries from a crash match `AtomicFile.isTemporaryName` and can be removed.
public enum AtomicFile {
  /// The marker in every temporary file name.
  public static let temporaryMarker = ".tmp-"

  /// Writes `bytes` to `path` atomically and durably.
  ///
  /// - Throws: `StorageError` (`.ioFailure`) naming the file and the failed call (ENOSPC/EIO
  ///   explained); the temporary file is removed on failure.
  public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
    let temporary = temporaryPath(for: path)
    let file = try SystemFile.create(path: temporary)
    do {
      try file.writeAll(bytes)
      try file.sync()
      try file.close()
    } catch {
      try? file.close()
      try? SystemFile.remove(path: temporary, ignoreMissing: true)
      throw error
    }
    do {
      try SystemFile.rename(from: temporary, to: path)
    } catch {
      try? SystemFile.remove(path: temporary, ignoreMissing: true)
      throw error
    }
    try SystemFile.syncDirectory(path: directory(of: path))
  }

  /// Writes `bytes` (an array, `Data`, …) to `path` atomically and durably.
  public static func write<Bytes: ContiguousBytes>(_ bytes: Bytes, to path: String) throws {
    try bytes.withUnsafeBytes { try write($0, to: path) }
  }

  /// A fresh temporary path next to `path`: same directory, hidden, unique per process and call.
  public static func temporaryPath(for path: String) -> String {
    let directory = directory(of: path)
    let name = name(of: path)
    let unique = UInt64.random(in: 0...UInt64.max)
    let suffix = String(unique, radix: 16)
    return directory + "/." + name + temporaryMarker + "\(ProcessInfo.processInfo.processIdentifier)-" + suffix
  }

  /// Whether a file name is one of `temporaryPath`'s names (a leftover if no writer is running).
  public static func isTemporaryName(_ name: String) -> Bool {
    name.hasPrefix(".") && name.contains(temporaryMarker)
  }

  /// The directory part of `path` (`.` for a bare name, `/` for a name at the root); trailing
  /// slashes are ignored. (String operations: swift-corelibs-foundation 6.3's
  /// `NSString.deletingLastPathComponent` traps on one-character paths such as `g`.)
  public static func directory(of path: String) -> String {
    let trimmed = trimmingTrailingSlashes(path)
    guard let slash = trimmed.lastIndex(of: "/") else { return "." }
    let directory = trimmingTrailingSlashes(String(trimmed[..<slash]))
    return directory.isEmpty ? "/" : directory
  }

  /// The last component of `path` (trailing slashes ignored).
  public static func name(of path: String) -> String {
    let trimmed = trimmingTrailingSlashes(path)
    guard let slash = trimmed.lastIndex(of: "/") else { return trimmed }
    return String(trimmed[trimmed.index(after: slash)...])
  }

  private static func trimmingTrailingSlashes(_ path: String) -> String {
    var result = Substring(path)
    while result.count > 1 && result.hasSuffix("/") { result = result.dropLast() }
    return String(result)
  }
}
