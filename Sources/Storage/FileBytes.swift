import Foundation

/// Whole-file reads for the small inputs ntkbatch parses in memory (dataset files, weights,
/// fixtures); large outputs are written incrementally elsewhere.
public enum FileBytes {
  /// Reads the whole file at `path`.
  ///
  /// - Throws: `StorageError` (`.badInput`) when the file is missing, a directory or not a regular
  ///   file (a FIFO would block),
  ///   (`.ioFailure`) when it cannot be opened or read, naming the call and errno.
  public static func read(path: String) throws -> [UInt8] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw StorageError(path: path, "no such file")
    }
    guard !isDirectory.boolValue else { throw StorageError(path: path, "is a directory, expected a file") }
    guard SystemFile.isRegularFile(path) else {
      throw StorageError(path: path, "is not a regular file (a FIFO, socket or device), expected a file")
    }
    let file = try SystemFile.openForReading(path: path)  // names the call and errno (EACCES, EIO, …)
    defer { try? file.close() }
    return try file.readAll()
  }
}
