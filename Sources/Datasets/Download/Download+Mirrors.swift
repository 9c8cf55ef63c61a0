import Foundation
import Storage

extension Download {
  /// The address of `fileName` under a base address: `mirror + fileName`, with a `/` inserted
  /// when the mirror lacks one.
  ///
  /// - Throws: `StorageError` (`.badInput`, path `dataset.mirror`) for an address that is not an
  ///   `http` or `https` URL.
  public static func address(of fileName: String, mirror: String) throws -> URL {
    let base = mirror.hasSuffix("/") ? mirror : mirror + "/"
    guard let url = URL(string: base + fileName), let scheme = url.scheme?.lowercased(),
          scheme == "http" || scheme == "https", url.host != nil else {
      throw StorageError(path: "dataset.mirror", "'\(mirror)' is not an http(s) base address")
    }
    return url
  }

  /// Downloads `fileName` into `root` unless `root/fileName` already exists, trying each mirror in
  /// turn until one delivers the file with the expected MD5.
  ///
  /// - Parameters:
  ///   - mirrors: base addresses (`dataset.mirror` when set, else the published ones).
  ///   - configure: adjusts timeouts and attempts of each `Download` (tests use short ones).
  ///   - progress: called on a background queue as data arrive.
  /// - Returns: `true` when the file was downloaded, `false` when it was already present.
  /// - Throws: the last mirror's `StorageError` when none succeeds.
  @discardableResult
  public static func fetchIfMissing(
    fileName: String, md5: String, mirrors: [String], root: String,
    configure: (inout Download) -> Void = { _ in }, progress: ((Progress) -> Void)? = nil
  ) throws -> Bool {
    let destination = (root as NSString).appendingPathComponent(fileName)
    if FileManager.default.fileExists(atPath: destination) { return false }
    do {
      try SystemFile.createDirectories(path: root)
    } catch let error as StorageError {
      // Named as the manifest field it is (`ROOT: cannot create dataset.root: …`), same kind.
      throw StorageError(error.kind, path: root, error.message.replacingOccurrences(of: "cannot create directory", with: "cannot create dataset.root"))
    }
    var lastError = StorageError(path: destination, "no download address given (dataset.mirror is empty)")
    for mirror in mirrors {
      var download = Download(url: try address(of: fileName, mirror: mirror), destination: destination, md5: md5)
      configure(&download)
      do {
        try download.run(progress: progress)
        return true
      } catch let error as StorageError {
        lastError = error
      }
    }
    throw lastError
  }
}
