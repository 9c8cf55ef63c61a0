/// The preamble of a NumPy `.npy` file: magic, version, and the header dictionary.
///
/// Layout (format version 1.0): `\x93NUMPY`, major 1, minor 0, a little-endian `UInt16` header
/// length, then an ASCII Python dict literal
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (N, M), }` padded with spaces and ending in
/// `\n` so that the data starts at a multiple of 64 bytes. Versions 2.0 and 3.0 (a `UInt32`
/// length) are read too. Data follows in C order (row-major), little-endian.
///
/// Source: NumPy NEP 1, "A simple file format for NumPy arrays".
public struct NpyHeader: Equatable, Sendable {
  /// Element type.
  public var dtype: NpyDType
  /// Array shape; `[]` is a scalar.
  public var shape: [Int]
  /// Whether data is in Fortran (column-major) order; ntkbatch writes `false` only.
  public var fortranOrder: Bool

  /// Creates a C-order header.
  public init(dtype: NpyDType, shape: [Int], fortranOrder: Bool = false) {
    self.dtype = dtype
    self.shape = shape
    self.fortranOrder = fortranOrder
  }

  /// Number of elements (product of the shape).
  public var count: Int { shape.reduce(1, *) }

  /// Bytes of array data that follow the header.
  public var dataBytes: Int { count * dtype.byteSize }

  static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

  /// The full preamble (magic through the newline), version 1.0, padded to a multiple of 64 bytes.
  public func encoded() -> [UInt8] {
    let dims = shape.map(String.init)
    let shapeText = shape.count == 1 ? "(\(dims[0]),)" : "(" + dims.joined(separator: ", ") + ")"
    var dict = "{'descr': '\(dtype.rawValue)', 'fortran_order': \(fortranOrder ? "True" : "False"), 'shape': \(shapeText), }"
    let unpadded = Self.magic.count + 2 + 2 + dict.utf8.count + 1
    dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
    let length = UInt16(dict.utf8.count)
    return Self.magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dict.utf8)
  }

  /// Parses the preamble at the start of `bytes`.
  ///
  /// - Returns: the header and the byte offset where array data begins.
  /// - Throws: `StorageError` (`.badInput`) naming `path` for a wrong magic, an unknown version,
  ///   a truncated header, an unsupported `descr`, or a malformed dict.
  public static func decode(_ bytes: [UInt8], path: String) throws -> (header: NpyHeader, dataOffset: Int) {
    func fail(_ message: String) -> StorageError { StorageError(path: path, "not a readable .npy file: \(message)") }
    guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw fail("missing \\x93NUMPY magic") }
    let major = bytes[6]
    let headerLength: Int
    let start: Int
    switch major {
    case 1:
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
      start = 10
    case 2, 3:
      guard bytes.count >= 12 else { throw fail("truncated header") }
      headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
      start = 12
    default:
      throw fail("unsupported format version \(major)")
    }
    guard bytes.count >= start + headerLength else { throw fail("truncated header") }
    guard let text = String(bytes: bytes[start..<(start + headerLength)], encoding: .utf8) else {
      throw fail("header is not text")
    }
    let header = try parseDict(text, fail: fail)
    return (header, start + headerLength)
  }

  private static func parseDict(_ text: String, fail: (String) -> StorageError) throws -> NpyHeader {
    guard let descr = value(of: "descr", in: text) else { throw fail("header has no 'descr'") }
    let descrText = descr.trimming("'\" ")
    guard let dtype = NpyDType(descr: descrText) else {
      throw fail("unsupported dtype '\(descrText)' (expected one of \(NpyDType.allCases.map(\.rawValue)))")
    }
    guard let order = value(of: "fortran_order", in: text) else { throw fail("header has no 'fortran_order'") }
    guard let shapeText = value(of: "shape", in: text), shapeText.hasPrefix("("), shapeText.hasSuffix(")") else {
      throw fail("header has no 'shape' tuple")
    }
    var shape: [Int] = []
    for part in shapeText.dropFirst().dropLast().split(separator: ",") {
      let t = part.trimming(" L")
      if t.isEmpty { continue }
      guard let d = Int(t), d >= 0 else { throw fail("bad dimension '\(t)' in shape") }
      shape.append(d)
    }
    return NpyHeader(dtype: dtype, shape: shape, fortranOrder: order.hasPrefix("True"))
  }

  /// The raw text of `key`'s value in a Python dict literal: a quoted string, a tuple, or a word.
  private static func value(of key: String, in text: String) -> String? {
    guard let keyRange = text.range(of: "'\(key)'") ?? text.range(of: "\"\(key)\"") else { return nil }
    var rest = text[keyRange.upperBound...].drop { $0 == " " }
    guard rest.first == ":" else { return nil }
    rest = rest.dropFirst().drop { $0 == " " }
    guard let first = rest.first else { return nil }
    let end: String.Index?
    switch first {
    case "(": end = rest.firstIndex(of: ")").map { rest.index(after: $0) }
    case "'", "\"": end = rest.dropFirst().firstIndex(of: first).map { rest.index(after: $0) }
    default: end = rest.firstIndex { $0 == "," || $0 == "}" }
    }
    guard let stop = end else { return nil }
    return String(rest[..<stop]).trimming(" ")
  }
}

extension StringProtocol {
  fileprivate func trimming(_ set: String) -> String {
    let chars = Set(set)
    var s = Substring(self)
    while let c = s.first, chars.contains(c) { s = s.dropFirst() }
    while let c = s.last, chars.contains(c) { s = s.dropLast() }
    return String(s)
  }
}
