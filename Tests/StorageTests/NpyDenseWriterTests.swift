import XCTest
@testable import Storage
import TestSupport

final class NpyDenseWriterTests: XCTestCase {
  /// Writes a 7×7 matrix from blocks (some transposed) and compares with the dense values.
  func testBlocksAndTransposedBlocksLandInPlace() throws {
    let dir = try TemporaryDirectory("npy")
    defer { dir.remove() }
    let n = 7
    var dense = [Double](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n { dense[i * n + j] = Double(i * 100 + j) + 0.25 } }
    func block(_ rows: Range<Int>, _ columns: Range<Int>) -> [Double] {
      rows.flatMap { r in columns.map { c in dense[r * n + c] } }
    }
    for dtype in [NpyDType.float64, .float32, .float16] {
      let path = dir.path + "/m-\(dtype).npy"
      let writer = try NpyDenseWriter(path: path, dtype: dtype, rows: n, columns: n)
      // Upper blocks written directly, lower ones as the transpose of the mirrored upper block.
      let upper = block(0..<4, 0..<7)
      try upper.withUnsafeBufferPointer { try writer.write($0, blockRows: 4, blockColumns: 7, row: 0, column: 0) }
      // Rows 4..<7, columns 0..<3 come from a [3, 3] source indexed [column][row].
      let source = (0..<3).flatMap { c in (4..<7).map { r in dense[r * n + c] } }
      try source.withUnsafeBufferPointer { try writer.write($0, blockRows: 3, blockColumns: 3, row: 4, column: 0, transposed: true) }
      let rest = block(4..<7, 3..<7).map(Float.init)
      try rest.withUnsafeBufferPointer { try writer.write($0, blockRows: 3, blockColumns: 4, row: 4, column: 3) }
      XCTAssertFalse(FileManager.default.fileExists(atPath: path), "must not appear before commit")
      try writer.commit()
      let array = try NpyArray.read(path: path)
      XCTAssertEqual(array.shape, [n, n])
      XCTAssertEqual(array.dtype, dtype)
      let bytes = try FileBytes.read(path: path)
      XCTAssertEqual(bytes.count - array.data.count, writer.dataOffset)
      XCTAssertEqual(writer.dataOffset % 64, 0)
      let expected: [Double]
      switch dtype {
      case .float16: expected = dense.map { Double(Float16($0)) }
      case .float32: expected = dense.map { Double(Float($0)) }
      default: expected = dense
      }
      XCTAssertEqual(array.doubles(), expected, "\(dtype)")
      XCTAssertEqual(writer.overflowCount, 0)
    }
  }

  func testFloat16OverflowIsCountedAndAbandonLeavesNothing() throws {
    let dir = try TemporaryDirectory("npy")
    defer { dir.remove() }
    let path = dir.path + "/o.npy"
    let writer = try NpyDenseWriter(path: path, dtype: .float16, rows: 2, columns: 3)
    let values: [Double] = [1, 65504, 65520, -1e6, .infinity, 3]
    try values.withUnsafeBufferPointer { try writer.write($0, blockRows: 2, blockColumns: 3, row: 0, column: 0) }
    XCTAssertEqual(writer.overflowCount, 2, "65520 and -1e6 overflow; infinity is not an overflow")
    writer.abandon()
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
  }

  func testBlockOutsideArrayIsRefused() throws {
    let dir = try TemporaryDirectory("npy")
    defer { dir.remove() }
    let writer = try NpyDenseWriter(path: dir.path + "/x.npy", dtype: .float32, rows: 2, columns: 2)
    defer { writer.abandon() }
    let values: [Float] = [1, 2, 3, 4]
    XCTAssertThrowsError(try values.withUnsafeBufferPointer { try writer.write($0, blockRows: 2, blockColumns: 2, row: 1, column: 0) })
    XCTAssertThrowsError(try NpyDenseWriter(path: dir.path + "/y.npy", dtype: .int64, rows: 2, columns: 2))
  }
}

/// `HalfPrecision.convert` gives the bits of Swift's `Float16(_: Float)` (round to nearest even).
final class HalfPrecisionTests: XCTestCase {
  func testEveryFloatPatternOnAStrideAndEveryBoundaryConvertsLikeFloat16() {
    var values: [Float] = []
    var pattern: UInt64 = 0
    while pattern <= UInt64(UInt32.max) {  // 16.7 million patterns spread over all floats
      values.append(Float(bitPattern: UInt32(pattern)))
      pattern += 251
    }
    // Around every float16 value: the value, its halfway points and their neighbours (ties to even).
    for h in 0..<UInt16(0x7C00) {
      let x = Float(Float16(bitPattern: h))
      let next = Float(Float16(bitPattern: h + 1))
      let mid = (x + next) / 2
      values += [x, -x, mid, -mid, mid.nextUp, mid.nextDown, -mid.nextUp, -mid.nextDown]
    }
    values += [65504, 65519.996, 65520, 65536, .infinity, -.infinity, .nan, -.nan, .greatestFiniteMagnitude, 0, -0.0]
    var converted = [UInt16](repeating: 0, count: values.count)
    let overflow = HalfPrecision.convert(values, count: values.count, into: &converted)
    var expectedOverflow = 0
    for (x, bits) in zip(values, converted) {
      let reference = Float16(x)
      if x.isNaN {
        XCTAssertTrue(Float16(bitPattern: bits).isNaN, "\(x.bitPattern)")
        continue
      }
      if x.isFinite && reference.isInfinite { expectedOverflow += 1 }
      if bits != reference.bitPattern { return XCTFail("\(x) (\(String(x.bitPattern, radix: 16))): \(String(bits, radix: 16)), Float16 gives \(String(reference.bitPattern, radix: 16))") }
    }
    XCTAssertEqual(overflow, expectedOverflow)
    XCTAssertEqual(converted[values.count - 5], 0x7E00, "NaN is the quiet NaN")
  }
}

/// `AtomicFile.directory(of:)` and `name(of:)` on bare, nested, rooted and one-character paths.
final class AtomicFilePathTests: XCTestCase {
  func testDirectoryAndNameOfPaths() {
    let cases: [(String, String, String)] = [
      ("g", ".", "g"), ("g.npy", ".", "g.npy"), ("a/g", "a", "g"), ("/g", "/", "g"), ("/a/b/G.zarr/", "/a/b", "G.zarr"),
      ("a//b", "a", "b"), ("./x", ".", "x"),
    ]
    for (path, directory, name) in cases {
      XCTAssertEqual(AtomicFile.directory(of: path), directory, path)
      XCTAssertEqual(AtomicFile.name(of: path), name, path)
    }
    XCTAssertTrue(AtomicFile.temporaryPath(for: "g").hasPrefix("./.g.tmp-"))
  }
}
