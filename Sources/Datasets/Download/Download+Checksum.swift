import Crypto
import Foundation
import Storage

extension Download {
  /// The MD5 of a file, lower-case hexadecimal (swift-crypto `Insecure.MD5`, read in 4 MiB chunks).
  ///
  /// MD5 is used only because the dataset publishers list MD5 sums; it detects corruption, not tampering.
  ///
  /// - Throws: `StorageError` (`.badInput` when the file is missing, `.ioFailure` when it cannot be read).
  public static func md5(ofFileAt path: String) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw StorageError(path: path, "no such file")
    }
    defer { try? handle.close() }
    var hasher = Insecure.MD5()
    do {
      while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty {
        hasher.update(data: chunk)
      }
    } catch {
      throw StorageError(.ioFailure, path: path, "cannot be read: \(error.localizedDescription)")
    }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
  }
}
