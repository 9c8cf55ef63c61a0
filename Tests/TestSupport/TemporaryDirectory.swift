import Foundation

/// A fresh directory under the system temporary directory (`ntkbatch-LABEL-UUID`), removed by
/// `remove()`. Shared by every test target.
public struct TemporaryDirectory {
  /// Absolute path of the directory.
  public let path: String

  /// Creates the directory.
  ///
  /// - Throws: what `FileManager.createDirectory` throws.
  public init(_ label: String = "test") throws {
    path = NSTemporaryDirectory() + "ntkbatch-\(label)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  /// Removes the directory and everything in it (errors ignored: test clean-up).
  public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Flips every bit of the byte at `offset` of the file at `path` (damage for verify/repair tests).
///
/// - Throws: what reading or writing the file throws; traps if `offset` is past the end.
public func flipByte(atPath path: String, offset: Int) throws {
  var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
  bytes[offset] ^= 0xFF
  try Data(bytes).write(to: URL(fileURLWithPath: path))
}
