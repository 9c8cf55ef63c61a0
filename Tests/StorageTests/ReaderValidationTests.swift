import Foundation
import XCTest
@testable import Storage

/// The `.safetensors` and `.npy` readers accept exactly what their reference readers accept
/// (huggingface/safetensors `SafeTensors::deserialize`, `numpy.lib.format.read_array`), never trap
/// on a size from a header, and name the file, tensor and field in one line.
final class ReaderValidationTests: XCTestCase {
  /// A `.safetensors` file with `header` (JSON text, padded) and `buffer` bytes after it.
  private func safetensors(_ header: String, buffer: [UInt8]) -> [UInt8] {
    var text = Array(header.utf8)
    text += [UInt8](repeating: 0x20, count: (8 - text.count % 8) % 8)
    return withUnsafeBytes(of: UInt64(text.count).littleEndian, Array.init) + text + buffer
  }

  private func rejects(_ bytes: [UInt8], mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try SafetensorsFile(bytes: bytes, path: "w.safetensors"), file: file, line: line) { error in
      let message = "\(error)"
      XCTAssertTrue(error is StorageError, "\(type(of: error))", file: file, line: line)
      XCTAssertTrue(message.hasPrefix("w.safetensors: "), message, file: file, line: line)
      XCTAssertFalse(message.contains("\n"), message, file: file, line: line)
      for word in words { XCTAssertTrue(message.contains(word), "'\(word)' not in: \(message)", file: file, line: line) }
    }
  }

  private let eight = [UInt8](repeating: 1, count: 8)

  func testSafetensorsAcceptsContiguousRangesInAnyHeaderOrder() throws {
    let file = try SafetensorsFile(bytes: safetensors(
      #"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
      buffer: [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]), path: "w.safetensors")
    XCTAssertEqual(file.names, ["a", "b"])
    XCTAssertEqual(file.tensors["a"]?.doubles(), [1])
    XCTAssertEqual(file.tensors["b"]?.doubles(), [2])
    // An empty tensor (shape [0]) takes no bytes; a scalar (shape []) one element.
    let empty = try SafetensorsFile(bytes: safetensors(
      #"{"e":{"dtype":"F64","shape":[0,5],"data_offsets":[0,0]},"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}"#,
      buffer: withUnsafeBytes(of: 3.5, Array.init)), path: "w.safetensors")
    XCTAssertEqual(empty.tensors["s"]?.doubles(), [3.5])
    XCTAssertEqual(empty.tensors["e"]?.doubles(), [])
  }

  func testSafetensorsRejectsWhatTheReferenceRejects() {
    let a = #""a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#
    rejects(safetensors("{\(a),\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", buffer: eight), mentioning: ["'a'", "twice"])
    // A duplicated field inside one tensor's entry is just as ambiguous.
    rejects(safetensors(#"{"a":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}}"#, buffer: eight), mentioning: ["a.dtype", "twice"])
    rejects(safetensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#, buffer: eight),
            mentioning: ["'a'", "'b'", "overlapping"])
    rejects(safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, buffer: eight + [0, 0, 0, 0]),
            mentioning: ["'b'", "expected to start at 4", "found 8"])
    rejects(safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, buffer: eight), mentioning: ["'a'", "start at 0"])
    rejects(safetensors(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, buffer: eight), mentioning: ["'a'", "16"])
    rejects(safetensors(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, buffer: eight), mentioning: ["'a'", "begin ≤ end"])
    rejects(safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, buffer: eight), mentioning: ["data buffer", "expected 4", "found 8"])
    rejects(safetensors(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, buffer: eight), mentioning: ["'a'", "expected 12 bytes"])
    rejects(safetensors(#"{"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}"#, buffer: eight), mentioning: ["'a'", "dtype", "I32"])
    rejects(safetensors(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, buffer: eight), mentioning: ["'a'"])
    rejects(safetensors(#"{"a":{"dtype":"F32","shape":[2]}}"#, buffer: eight), mentioning: ["'a'", "data_offsets"])
    rejects(safetensors(#"{"__metadata__":{"format":3}}"#, buffer: []), mentioning: ["__metadata__"])
    rejects(safetensors(#"["a"]"#, buffer: []), mentioning: ["header", "expected a JSON object, found an array"])
    rejects(safetensors(#"7"#, buffer: []), mentioning: ["header", "expected a JSON object, found a single value"])
    XCTAssertNoThrow(try SafetensorsFile(bytes: safetensors(" \n{}", buffer: []), path: "w.safetensors"),
                     "leading whitespace is accepted, as by the reference (safetensors 0.8.0)")
    rejects(safetensors(#"{"a":"#, buffer: []), mentioning: ["header", "invalid JSON"])
    rejects([4, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0xFF, 0xFE, 0x7D], mentioning: ["UTF-8"])
    rejects([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0x7B, 0x7D], mentioning: ["header length", "expected at most 2"])
    rejects([1, 2, 3], mentioning: ["header length", "3 bytes"])
  }

  /// Shapes whose element count wraps 64 bits (to 0, so that an empty byte range would "match").
  func testSafetensorsShapesThatOverflowAreTooLarge() {
    for shape in ["[4294967296,4294967296]", "[10,4294967296,4294967296]", "[9223372036854775807,2]", "[3037000500,3037000500]"] {
      rejects(safetensors("{\"big\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[0,0]}}", buffer: []),
              mentioning: ["'big'", "too large"])
    }
    rejects(safetensors(#"{"big":{"dtype":"F32","shape":[1e30],"data_offsets":[0,0]}}"#, buffer: []), mentioning: ["'big'"])
    rejects(safetensors(#"{"big":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}"#, buffer: []), mentioning: ["'big'"])
  }

  private func npy(_ dict: String, version: UInt8 = 1, data: [UInt8] = []) -> [UInt8] {
    let text = Array(dict.utf8) + [0x0A]
    if version == 1 {
      return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text + data
    }
    return [0x93] + Array("NUMPY".utf8) + [version, 0] + withUnsafeBytes(of: UInt32(text.count).littleEndian, Array.init) + text + data
  }

  func testNpyHeaderIsParsedStrictly() throws {
    let good = try NpyArray(bytes: npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data: eight), path: "a.npy")
    XCTAssertEqual(good.shape, [2])
    let v3 = try NpyArray(bytes: npy("{\"shape\": (1, 2), \"fortran_order\": False, \"descr\": \"<f4\"}", version: 3, data: eight), path: "a.npy")
    XCTAssertEqual(v3.shape, [1, 2])
    let scalar = try NpyArray(bytes: npy("{'descr': '<f8', 'fortran_order': False, 'shape': ()}", data: eight), path: "a.npy")
    XCTAssertEqual(scalar.doubles().count, 1)
    let bad: [(String, String)] = [
      ("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", "twice"),
      ("{'descr': '<f4', 'fortran_order': False}", "missing shape"),
      ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", "'extra'"),
      ("{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", "'shape'"),
      ("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,)}", "'fortran_order'"),
      ("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", "'shape'"),
      ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", "after the dict"),
      ("'descr': '<f4'", "'{'"),
      ("{'descr': '<c16', 'fortran_order': False, 'shape': (1,)}", "<c16"),
    ]
    for (dict, word) in bad {
      XCTAssertThrowsError(try NpyArray(bytes: npy(dict, data: eight), path: "a.npy"), dict) { error in
        XCTAssertTrue("\(error)".hasPrefix("a.npy: "), "\(error)")
        XCTAssertTrue("\(error)".contains(word), "'\(word)' not in: \(error)")
      }
    }
  }

  /// Shapes whose byte size wraps 64 bits: (2³², 2³², 3, 32, 32) and (2⁶¹, 3, 32, 32), as in the
  /// shared cases, and a few more; a header length beyond the file.
  func testNpyShapesThatOverflowAreTooLarge() throws {
    for shape in ["(4294967296, 4294967296, 3, 32, 32)", "(2305843009213693952, 3, 32, 32)", "(9223372036854775807, 2)", "(3037000500, 3037000500)"] {
      XCTAssertThrowsError(try NpyArray(bytes: npy("{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }", data: eight), path: "w.npy")) { error in
        XCTAssertTrue("\(error)".hasPrefix("w.npy: shape ["), "\(error)")
        XCTAssertTrue("\(error)".contains("too large"), "\(error)")
      }
    }
    XCTAssertThrowsError(try NpyArray(bytes: npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"), path: "w.npy"))
    var long = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", version: 2, data: eight)
    long[8] = 0xFF; long[9] = 0xFF; long[10] = 0xFF; long[11] = 0xFF
    XCTAssertThrowsError(try NpyArray(bytes: long, path: "w.npy")) { error in
      XCTAssertTrue("\(error)".contains("header length"), "\(error)")
    }
  }

  func testDuplicateKeysAreFoundWithTheirPath() {
    func first(_ text: String) -> JSONDuplicateKeys.Duplicate? { JSONDuplicateKeys.first(in: Array(text.utf8)) }
    XCTAssertNil(first(#"{"a": 1, "b": {"a": 2}, "c": [{"a": 1}, {"a": 2}]}"#))
    XCTAssertEqual(first(#"{"a": 1, "b": {"x": 1, "x": 2}}"#), .init(key: "x", path: "b.x"))
    XCTAssertEqual(first(#"{"a": 1, "\u0061": 2}"#), .init(key: "a", path: "a"), "escapes are decoded before comparing")
    XCTAssertEqual(first(#"{"list": [{"k": 1}, {"k": 1, "k": 2}]}"#)?.path, "list.[1].k")
    XCTAssertEqual(first(#"{"s": "}{\"", "s": 0}"#)?.key, "s", "braces and quotes inside strings are text")
    XCTAssertEqual(first(#"{"\ud83d\ude00": 1, "😀": 2}"#)?.key, "😀")
    XCTAssertNil(first(#"{"a\"b": 1, "a\\b": 2}"#))
  }

  func testNonFiniteScanFindsTheFirstBadValueAndCountsThem() {
    XCTAssertNil(NonFiniteScan.scan([1.0, -2, .greatestFiniteMagnitude, 0]))
    XCTAssertEqual(NonFiniteScan.scan([1, Float.nan, -.infinity, 3]), .init(index: 1, value: "nan", count: 2))
    XCTAssertEqual(NonFiniteScan.scan([Double](repeating: 0, count: 7) + [-.infinity]), .init(index: 7, value: "-inf", count: 1))
    let raw = [Float(1), 2, .infinity].withUnsafeBytes { Array($0) }
    XCTAssertEqual(NonFiniteScan.scan(raw: raw, scalarBytes: 4), .init(index: 2, value: "inf", count: 1))
    XCTAssertEqual(NonFiniteScan.position(of: 2 * 3072 + 1 * 1024 + 5 * 32 + 7, in: [4, 3, 32, 32]), [2, 1, 5, 7])
    XCTAssertEqual(ShapeSize.byteCount([1 << 32, 1 << 32], elementBytes: 4), nil)
    XCTAssertEqual(ShapeSize.byteCount([1 << 20, 1 << 20], elementBytes: 4), 1 << 42)
    XCTAssertEqual(ShapeSize.elementCount([]), 1)
    XCTAssertNil(ShapeSize.elementCount([3, -1]))
  }

  /// `deletingLastPathComponent` of Foundation traps on a one-character name (`--run-dir r`).
  func testDirectoryOfAPathNeverTraps() {
    let cases: [(String, String)] = [("r", "."), ("ab", "."), ("a/r", "a"), ("/r", "/"), ("a/b/", "a"), ("a//b", "a"),
                                     ("/", "/"), ("", "."), ("./r", "."), ("runs/demo/journal", "runs/demo")]
    for (path, directory) in cases { XCTAssertEqual(AtomicFile.directory(of: path), directory, path) }
  }
}
