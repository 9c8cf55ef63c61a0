import Foundation

extension SystemFile {
  /// Creates directory `path` with any missing parents, then fsyncs the directory holding it, so
  /// that the new entry survives a crash (the first half of the durability recipe: a file created
  /// inside is made durable by `syncDirectory(path:)` of `path` itself). A path that exists
  /// already, or that another process creates meanwhile, is left alone and nothing is synced.
  ///
  /// - Throws: `StorageError` (`.ioFailure`) naming `path`: `cannot create directory: …`
  ///   (Foundation's reason), or the parent's failed `fsync` (`SystemFile.error`).
  public static func createDirectoryDurably(path: String) throws {
    if FileManager.default.fileExists(atPath: path) { return }
    do {
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
      if FileManager.default.fileExists(atPath: path) { return }
      throw StorageError(.ioFailure, path: path, "cannot create directory: \(error.localizedDescription)")
    }
    try syncDirectory(path: AtomicFile.directory(of: path))
  }
}
