import Foundation

extension SystemFile {
  /// Creates directory `path` with any missing parents, then fsyncs the directory holding it, so
  /// that the new entry survives a crash (the first half of the durability recipe: a file created
  /// inside is made durable by `syncDirectory(path:)` of `path` itself). A path that exists
  /// already, or that another process creates meanwhile, is left alone and nothing is synced.
  ///
  /// - Throws: `StorageError` naming `path`: (`.destinationExists`) `cannot create directory: A is a file,
  ///   not a directory` when an existing ancestor A is not a directory (a mistyped path, e.g. a
  ///   manifest's name followed by `/…`); (`.ioFailure`) `cannot create directory: … (nearest
  ///   existing folder: F)` with Foundation's reason otherwise, or the parent's failed `fsync`
  ///   (`SystemFile.error`).
  public static func createDirectoryDurably(path: String) throws {
    if FileManager.default.fileExists(atPath: path) { return }
    do {
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
      if FileManager.default.fileExists(atPath: path) { return }
      // The nearest ancestor that exists (symbolic links followed: a linked folder is a folder).
      var ancestor = AtomicFile.directory(of: path)
      var isDirectory: ObjCBool = false
      var exists = FileManager.default.fileExists(atPath: ancestor, isDirectory: &isDirectory)
      while !exists, ancestor != "/", ancestor != "." {
        ancestor = AtomicFile.directory(of: ancestor)
        exists = FileManager.default.fileExists(atPath: ancestor, isDirectory: &isDirectory)
      }
      if exists, !isDirectory.boolValue {
        throw StorageError(.destinationExists, path: path, "cannot create directory: \(ancestor) is a file, not a directory")
      }
      throw StorageError(.ioFailure, path: path, "cannot create directory: \(error.localizedDescription) (nearest existing folder: \(ancestor))")
    }
    try syncDirectory(path: AtomicFile.directory(of: path))
  }
}
