import Foundation

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory {
  let path: String

  init(_ label: String = "storage") throws {
    path = NSTemporaryDirectory() + "ntkbatch-\(label)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Flips every bit of the byte at `offset` of the file at `path`.
func flipByte(atPath path: String, offset: Int) throws {
  var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
  bytes[offset] ^= 0xFF
  try Data(bytes).write(to: URL(fileURLWithPath: path))
}
