import Foundation
import XCTest
import TestSupport

@testable import Datasets
@testable import Storage

/// Builds level-5 MAT-files byte by byte, following the MAT-File Format document, so the reader is
/// tested against inputs it did not write itself (small elements, big-endian, nested compression).
struct MATTestWriter {
  var bigEndian = false

  func word32(_ value: UInt32) -> [UInt8] {
    let le = [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
    return bigEndian ? le.reversed() : le
  }

  func header(text: String = "MATLAB 5.0 MAT-file, written by MATTestWriter") -> [UInt8] {
    var bytes = Array(text.utf8.prefix(116))
    bytes += [UInt8](repeating: 0x20, count: 116 - bytes.count)
    bytes += [UInt8](repeating: 0, count: 8)
    bytes += bigEndian ? [0x01, 0x00, UInt8(ascii: "M"), UInt8(ascii: "I")] : [0x00, 0x01, UInt8(ascii: "I"), UInt8(ascii: "M")]
    return bytes
  }

  /// A data element; `small` uses the 4-byte small element format when the data fits.
  func element(_ type: UInt32, _ data: [UInt8], small: Bool = true) -> [UInt8] {
    if small && data.count <= 4 && type != 15 {
      return word32(UInt32(data.count) << 16 | type) + data + [UInt8](repeating: 0, count: 4 - data.count)
    }
    let padding = type == 15 ? 0 : (8 - data.count % 8) % 8
    return word32(type) + word32(UInt32(data.count)) + data + [UInt8](repeating: 0, count: padding)
  }

  /// Element bytes of `values` stored as `type` (already in the file's byte order).
  func values(_ values: [Double], as type: MATFile.DataType) -> [UInt8] {
    var bytes: [UInt8] = []
    for value in values {
      var le: [UInt8]
      switch type {
      case .uint8: le = [UInt8(value)]
      case .int16: le = withUnsafeBytes(of: Int16(value).littleEndian, Array.init)
      case .int32: le = withUnsafeBytes(of: Int32(value).littleEndian, Array.init)
      case .single: le = withUnsafeBytes(of: Float(value).bitPattern.littleEndian, Array.init)
      case .double: le = withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)
      default: fatalError("test writer: unsupported type \(type)")
      }
      bytes += bigEndian ? le.reversed() : le
    }
    return bytes
  }

  func matrix(name: String, arrayClass: MATFile.ArrayClass, dimensions: [Int], values: [Double],
              storage: MATFile.DataType, smallName: Bool = true) -> [UInt8] {
    var body = element(6, word32(UInt32(arrayClass.rawValue)) + word32(0))
    body += element(5, dimensions.flatMap { word32(UInt32($0)) })
    body += element(1, Array(name.utf8), small: smallName)
    body += element(storage.rawValue, self.values(values, as: storage))
    return element(14, body)
  }

  func compressed(_ inner: [UInt8]) -> [UInt8] { element(15, Zlib.deflate(inner)) }
}

final class MATFileTests: XCTestCase {
  func testReadsSVHNSampleFixture() throws {
    let file = try MATFile.read(path: "\(datasetFixtures)/preprocess/svhn_sample.mat")
    XCTAssertFalse(file.isBigEndian)
    XCTAssertTrue(file.headerText.hasPrefix("MATLAB 5.0 MAT-file"), file.headerText)
    let x = try file.variable(named: "X", path: "svhn_sample.mat")
    XCTAssertEqual(x.arrayClass, .uint8)
    XCTAssertEqual(x.dataType, .uint8)
    XCTAssertEqual(x.dimensions, [32, 32, 3, 8])
    XCTAssertEqual(x.real.count, 32 * 32 * 3 * 8)
    let y = try file.variable(named: "y", path: "svhn_sample.mat")
    XCTAssertEqual(y.dimensions, [8, 1])
    XCTAssertEqual(try y.doubles(path: "svhn_sample.mat"), [10, 1, 2, 3, 10, 5, 9, 7])
    // The reference tensor is X[:, :, :, i] transposed to (channel, row, col) / 255: check X[r, c, ch, i].
    let reference = try NpyArray.read(path: "\(datasetFixtures)/preprocess/svhn_first8.npy").floats()
    for (r, c, ch, i) in [(0, 0, 0, 0), (5, 17, 2, 3), (31, 30, 1, 7), (12, 0, 2, 5)] {
      let stored = x.real[r + 32 * c + 1024 * ch + 3072 * i]
      XCTAssertEqual(Float(stored) / 255, reference[((i * 3 + ch) * 32 + r) * 32 + c])
    }
  }

  func testReadsLittleAndBigEndianCompressedAndNestedElements() throws {
    for bigEndian in [false, true] {
      let writer = MATTestWriter(bigEndian: bigEndian)
      let a = writer.matrix(name: "a", arrayClass: .double, dimensions: [2, 3], values: [1, -2, 3.5, 4, 5, 6], storage: .double)
      let b = writer.matrix(name: "labels", arrayClass: .double, dimensions: [4, 1], values: [10, 1, 300, 7], storage: .int16, smallName: false)
      let c = writer.matrix(name: "img", arrayClass: .uint8, dimensions: [2, 2, 3], values: (0..<12).map { Double($0 * 20) }, storage: .uint8)
      let d = writer.matrix(name: "f", arrayClass: .single, dimensions: [1, 2], values: [0.25, -8], storage: .single)
      let bytes = writer.header() + a + writer.compressed(b) + writer.compressed(writer.compressed(c) + d)
      let file = try MATFile(bytes: bytes, path: "t.mat")
      XCTAssertEqual(file.isBigEndian, bigEndian)
      XCTAssertEqual(file.variables.map(\.name), ["a", "labels", "img", "f"])
      XCTAssertEqual(try file.variables[0].doubles(path: "t.mat"), [1, -2, 3.5, 4, 5, 6])
      XCTAssertEqual(file.variables[1].dataType, .int16)
      XCTAssertEqual(file.variables[1].arrayClass, .double)
      XCTAssertEqual(try file.variables[1].doubles(path: "t.mat"), [10, 1, 300, 7])
      XCTAssertEqual(file.variables[2].dimensions, [2, 2, 3])
      XCTAssertEqual(try file.variables[2].uint8s(path: "t.mat"), (0..<12).map { UInt8($0 * 20) })
      XCTAssertEqual(try file.variables[3].doubles(path: "t.mat"), [0.25, -8])
      XCTAssertThrowsError(try file.variables[1].uint8s(path: "t.mat")) { error in
        XCTAssertTrue("\(error)".contains("element 2 is 300.0"), "\(error)")
      }
    }
  }

  func testRejectsBadHeadersTruncationAndSizeMismatches() throws {
    let writer = MATTestWriter()
    let good = writer.header() + writer.matrix(name: "X", arrayClass: .uint8, dimensions: [4, 4], values: Array(repeating: 1, count: 16), storage: .uint8)
    XCTAssertNoThrow(try MATFile(bytes: good, path: "g.mat"))

    func expectError(_ bytes: [UInt8], _ fragment: String, line: UInt = #line) {
      XCTAssertThrowsError(try MATFile(bytes: bytes, path: "bad.mat"), line: line) { error in
        XCTAssertEqual((error as? DatasetError)?.code, .malformedDataset, line: line)
        XCTAssertTrue("\(error)".hasPrefix("bad.mat: "), "\(error)", line: line)
        XCTAssertTrue("\(error)".contains(fragment), "\(error) lacks \(fragment)", line: line)
      }
    }
    expectError(Array(good.prefix(100)), "shorter than the 128-byte")
    var wrongIndicator = good
    wrongIndicator[126] = UInt8(ascii: "X")
    expectError(wrongIndicator, "endian indicator")
    var wrongVersion = good
    wrongVersion[125] = 2
    expectError(wrongVersion, "unsupported MAT-file version")
    expectError(Array(good.dropLast(8)), "truncated data element at byte 128")
    expectError(Array(good.prefix(132)), "truncated data element tag at byte 128")
    // Dimensions 4×5 but only 16 bytes of data.
    let mismatch = writer.header() + writer.matrix(name: "X", arrayClass: .uint8, dimensions: [4, 5], values: Array(repeating: 1, count: 16), storage: .uint8)
    expectError(mismatch, "dimensions [4, 5] of uint8 need 20 bytes, the real part holds 16")
    // Huge dimensions must not overflow or allocate.
    let huge = writer.header() + writer.matrix(name: "X", arrayClass: .double, dimensions: [Int(Int32.max), Int(Int32.max), Int(Int32.max)], values: [1], storage: .double)
    expectError(huge, "overflow")
    // A compressed element cut short, and one with corrupt zlib data.
    let compressed = writer.header() + writer.compressed(Array(good[128...]))
    expectError(Array(compressed.dropLast(6)), "truncated data element")
    var shortened = compressed
    shortened.removeSubrange((shortened.count - 10)...)
    shortened.replaceSubrange(132..<136, with: writer.word32(UInt32(shortened.count - 136)))
    expectError(shortened, "truncated zlib data")
    var corrupt = compressed
    corrupt[137] ^= 0xFF
    corrupt[140] ^= 0xFF
    expectError(corrupt, "corrupt zlib data")
    // An element type that is not a matrix at top level.
    expectError(writer.header() + writer.element(9, [UInt8](repeating: 0, count: 8)), "has type 9, expected miMATRIX")
    XCTAssertThrowsError(try MATFile(bytes: good, path: "g.mat").variable(named: "y", path: "g.mat")) { error in
      XCTAssertTrue("\(error)".contains("no variable 'y' in the MAT-file (found: X)"), "\(error)")
    }
  }
}
