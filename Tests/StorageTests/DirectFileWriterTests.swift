import XCTest
@testable import Storage
import TestSupport

/// `DirectFileWriter` writes exactly the bytes given, in order, whatever the pieces' sizes and
/// alignment, with O_DIRECT on where the file system has it and plain writes where it does not.
final class DirectFileWriterTests: XCTestCase {
  private func pattern(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return UInt8(truncatingIfNeeded: state >> 56)
    }
  }

  /// Pieces from an aligned buffer (whole blocks, block and a tail), unaligned ones (an odd
  /// offset), tiny ones, and one larger than the staging buffer: the file is their concatenation.
  func testTheFileHoldsThePiecesInOrderWithAndWithoutODirect() throws {
    let dir = try TemporaryDirectory("direct")
    defer { dir.remove() }
    let alignment = SystemFile.directAlignment
    let aligned = UnsafeMutableRawBufferPointer.allocate(byteCount: 3 * DirectFileWriter.stagingBytes, alignment: alignment)
    defer { aligned.deallocate() }
    let source = pattern(aligned.count, seed: 3)
    aligned.copyMemory(from: UnsafeRawBufferPointer(start: source, count: source.count))
    // (offset, count) into `aligned`: aligned starts and lengths, then not.
    let pieces = [(0, 4 * alignment), (4 * alignment, alignment + 17), (0, 1), (1, 4_095), (4_096, 3),
                  (5, DirectFileWriter.stagingBytes + 12_345), (0, 2 * DirectFileWriter.stagingBytes), (64, 100)]
    var expected: [UInt8] = []
    for (offset, count) in pieces { expected += source[offset..<(offset + count)] }
    for direct in [true, false] {
      let path = dir.path + "/file-\(direct)"
      let file = try SystemFile.create(path: path)
      let writer = try DirectFileWriter(file: file, direct: direct)
      XCTAssertEqual(writer.isDirect, direct, "O_DIRECT refused on \(dir.path)")
      for (offset, count) in pieces { try writer.write(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(aligned)[offset..<(offset + count)])) }
      try writer.finish()
      XCTAssertFalse(writer.isDirect)
      try file.sync()
      try file.close()
      let written = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
      XCTAssertEqual(written.count, expected.count, "direct \(direct)")
      XCTAssertTrue(written == expected, "direct \(direct): the file differs from the pieces")
    }
  }
}
