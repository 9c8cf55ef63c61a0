import Foundation

extension ObjectStore {
  /// Paths of entries under the store that ntkbatch did not write: anything directly under
  /// `objects/` other than a two-hex-digit prefix directory or a temporary file, and anything in a
  /// prefix directory that is neither an object name (62 lowercase hex digits) nor a temporary
  /// file. Directories among them end in `/`. Sorted.
  ///
  /// - Throws: `StorageError` (`.ioFailure`) if a directory cannot be listed.
  public func strayFiles() throws -> [String] {
    let hexDigits = Set("0123456789abcdef".utf8)
    func isHex(_ name: String, length: Int) -> Bool { name.utf8.count == length && name.utf8.allSatisfy(hexDigits.contains) }
    var found: [String] = []
    for name in try listing(root) where !AtomicFile.isTemporaryName(name) {
      let path = root + "/" + name
      let directory = isDirectory(path)
      guard directory, isHex(name, length: 2) else {
        found.append(directory ? path + "/" : path)
        continue
      }
      for inner in try listing(path) where !AtomicFile.isTemporaryName(inner) {
        let innerPath = path + "/" + inner
        let innerDirectory = isDirectory(innerPath)
        if innerDirectory || !isHex(inner, length: 62) { found.append(innerDirectory ? innerPath + "/" : innerPath) }
      }
    }
    return found.sorted()
  }

  private func isDirectory(_ path: String) -> Bool {
    var directory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
  }

  private func listing(_ directory: String) throws -> [String] {
    guard isDirectory(directory) else { return [] }
    do {
      return try FileManager.default.contentsOfDirectory(atPath: directory)
    } catch {
      throw StorageError(.ioFailure, path: directory, "cannot list directory: \(error.localizedDescription)")
    }
  }
}
