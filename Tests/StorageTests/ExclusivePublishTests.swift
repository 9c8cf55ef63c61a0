import XCTest
@testable import Storage
import TestSupport

/// `commit(exclusive: true)`: a new output is published only if nothing took its name while it
/// was written (two writers of one new output: the second fails naming it); `exclusive: false`
/// replaces as before. The other writer is simulated by creating the name just before `commit`.
final class ExclusivePublishTests: XCTestCase {
  private func values(_ n: Int) -> [Double] { (0..<(n * n)).map { Double($0) + 0.5 } }

  private func npyWriter(_ path: String, n: Int = 4) throws -> NpyDenseWriter {
    let writer = try NpyDenseWriter(path: path, dtype: .float64, rows: n, columns: n)
    try values(n).withUnsafeBufferPointer { try writer.write($0, blockRows: n, blockColumns: n, row: 0, column: 0) }
    return writer
  }

  private func zarrWriter(_ path: String) throws -> ZarrArrayWriter {
    let writer = try ZarrArrayWriter(path: path, format: .v3, dtype: .float64, rows: 4, columns: 4, chunkRows: 4, chunkColumns: 4, attributes: [:])
    _ = try values(4).withUnsafeBytes { try writer.writeChunk(0, 0, raw: $0) }
    return writer
  }

  private func leftovers(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(AtomicFile.temporaryMarker) }
  }

  func testANewNpyIsNotPublishedOverAFileCreatedMeanwhile() throws {
    let dir = try TemporaryDirectory("publish-npy")
    defer { dir.remove() }
    let path = dir.path + "/g.npy"
    // Nothing there: published, the temporary name gone.
    let first = try npyWriter(path)
    try first.commit(exclusive: true)
    XCTAssertEqual(try NpyArray.read(path: path).doubles(), values(4))
    XCTAssertEqual(try leftovers(dir.path), [])

    // Another writer published the name meanwhile: refused naming it, its file untouched.
    let other = dir.path + "/h.npy"
    let second = try npyWriter(other)
    let theirs = Array("the other assemble's output".utf8)
    try Data(theirs).write(to: URL(fileURLWithPath: other))
    XCTAssertThrowsError(try second.commit(exclusive: true)) { error in
      let storage = error as? StorageError
      XCTAssertEqual(storage?.kind, .destinationExists, "\(error)")
      XCTAssertEqual(storage?.description, "\(other): created by another process while this one was writing it (it did not exist when this one started); not replaced")
    }
    XCTAssertEqual(try FileBytes.read(path: other), theirs)
    XCTAssertEqual(try leftovers(dir.path), [], "the temporary file is removed")

    // Replacing (an output this run owns): rename over it, as before.
    let third = try npyWriter(other, n: 3)
    try third.commit(exclusive: false)
    XCTAssertEqual(try NpyArray.read(path: other).doubles(), values(3))
  }

  func testANewZarrArrayIsNotPublishedOverADirectoryCreatedMeanwhile() throws {
    let dir = try TemporaryDirectory("publish-zarr")
    defer { dir.remove() }
    let path = dir.path + "/g.zarr"
    try zarrWriter(path).commit(exclusive: true)
    XCTAssertTrue(FileManager.default.fileExists(atPath: path + "/zarr.json"))
    XCTAssertEqual(try leftovers(dir.path), [])

    // Another array published meanwhile (even an empty directory): refused, left as it is.
    for (name, content) in [("h.zarr", ["zarr.json"]), ("e.zarr", [])] {
      let other = dir.path + "/" + name
      let writer = try zarrWriter(other)
      try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
      for file in content { try Data("{}".utf8).write(to: URL(fileURLWithPath: other + "/" + file)) }
      XCTAssertThrowsError(try writer.commit(exclusive: true)) { error in
        XCTAssertEqual((error as? StorageError)?.kind, .destinationExists, "\(error)")
        XCTAssertTrue("\(error)".hasPrefix("\(other): created by another process"), "\(error)")
      }
      XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: other).sorted(), content)
      XCTAssertEqual(try leftovers(dir.path), [])
    }
    // Replacing our own array: as before.
    try zarrWriter(path).commit(exclusive: false)
    XCTAssertTrue(FileManager.default.fileExists(atPath: path + "/zarr.json"))
  }
}
