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

  /// Number of elements (product of the shape); `Int.max` when the product overflows (a decoded
  /// header never does: `decode` refuses such shapes).
  public var count: Int { ShapeSize.elementCount(shape) ?? Int.max }

  /// Bytes of array data that follow the header; `Int.max` when the size overflows (never for a
  /// decoded header).
  public var dataBytes: Int { ShapeSize.byteCount(shape, elementBytes: dtype.byteSize) ?? Int.max }

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
  /// The header must be what `numpy.lib.format` accepts: a Python dict literal with exactly the
  /// keys `descr` (a string), `fortran_order` (`True`/`False`) and `shape` (a tuple of
  /// non-negative integers), each once, followed only by spaces and the closing newline. The
  /// shape's byte size must fit 64 bits.
  ///
  /// - Returns: the header and the byte offset where array data begins.
  /// - Throws: `StorageError` (`.badInput`) naming `path` for a wrong magic, an unknown version,
  ///   a truncated header, an unsupported `descr`, a malformed dict, or a shape too large.
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
    guard bytes.count - start >= headerLength else {
      throw fail("header length: expected at most \(Plural.count(bytes.count - start, "byte")) (the rest of the file), found \(headerLength)")
    }
    // Versions 1 and 2 are latin-1 (ASCII in practice), 3 is UTF-8; the dict itself is ASCII.
    guard let text = String(validating: bytes[start..<(start + headerLength)], as: UTF8.self) else {
      throw fail("header is not text")
    }
    var parser = DictParser(text: Array(text.utf8))
    let fields = try parser.parse(fail: fail)
    guard case .string(let descrText)? = fields["descr"] else { throw fail("header: 'descr': expected a string") }
    guard let dtype = NpyDType(descr: descrText) else {
      throw fail("unsupported dtype '\(descrText.prefix(20))' (expected one of \(NpyDType.allCases.map(\.rawValue)))")
    }
    guard case .bool(let fortranOrder)? = fields["fortran_order"] else { throw fail("header: 'fortran_order': expected True or False") }
    guard case .tuple(let shape)? = fields["shape"] else { throw fail("header: 'shape': expected a tuple of integers") }
    let header = NpyHeader(dtype: dtype, shape: shape, fortranOrder: fortranOrder)
    guard ShapeSize.byteCount(shape, elementBytes: dtype.byteSize) != nil else {
      throw StorageError(path: path, "shape \(shape) of \(dtype.rawValue): too large (its byte size overflows 64 bits)")
    }
    return (header, start + headerLength)
  }

  /// A strict reader of the header's Python dict literal (the subset `numpy.lib.format` writes
  /// and `ast.literal_eval` reads there).
  private struct DictParser {
    enum Value: Equatable { case string(String), bool(Bool), tuple([Int]) }
    let text: [UInt8]
    var position = 0

    init(text: [UInt8]) { self.text = text }

    mutating func parse(fail: (String) -> StorageError) throws -> [String: Value] {
      var fields: [String: Value] = [:]
      skipSpaces()
      guard take("{") else { throw fail("header: expected a dict starting with '{'") }
      skipSpaces()
      while !take("}") {
        guard let key = quoted() else { throw fail("header: expected a quoted key at byte \(position)") }
        guard ["descr", "fortran_order", "shape"].contains(key) else {
          throw fail("header: expected only the keys 'descr', 'fortran_order' and 'shape', found '\(key.prefix(20))'")
        }
        guard fields[key] == nil else { throw fail("header: '\(key)': expected once, found twice") }
        skipSpaces()
        guard take(":") else { throw fail("header: expected ':' after '\(key)'") }
        skipSpaces()
        guard let value = value() else { throw fail("header: '\(key)': malformed value at byte \(position)") }
        fields[key] = value
        skipSpaces()
        if take(",") { skipSpaces(); continue }
        guard take("}") else { throw fail("header: expected ',' or '}' at byte \(position)") }
        break
      }
      while position < text.count, text[position] == 0x20 || text[position] == 0x0A || text[position] == 0x09 || text[position] == 0x0D {
        position += 1
      }
      guard position == text.count else { throw fail("header: unexpected text after the dict at byte \(position)") }
      guard fields.count == 3 else {
        let missing = ["descr", "fortran_order", "shape"].filter { fields[$0] == nil }.joined(separator: ", ")
        throw fail("header: expected the keys 'descr', 'fortran_order' and 'shape', missing \(missing)")
      }
      return fields
    }

    private mutating func take(_ character: Unicode.Scalar) -> Bool {
      guard position < text.count, text[position] == UInt8(character.value) else { return false }
      position += 1
      return true
    }

    private mutating func skipSpaces() {
      while position < text.count, text[position] == 0x20 { position += 1 }
    }

    private mutating func quoted() -> String? {
      guard position < text.count, text[position] == 0x27 || text[position] == 0x22 else { return nil }
      let quote = text[position]
      guard let end = text[(position + 1)...].firstIndex(of: quote) else { return nil }
      let content = text[(position + 1)..<end]
      guard !content.contains(0x5C) else { return nil }  // no escapes in the keys and descrs numpy writes
      position = end + 1
      return String(decoding: content, as: UTF8.self)
    }

    private mutating func value() -> Value? {
      if let string = quoted() { return .string(string) }
      for (word, flag) in [("True", true), ("False", false)] where text[position...].starts(with: word.utf8) {
        position += word.utf8.count
        return .bool(flag)
      }
      guard take("(") else { return nil }
      var dimensions: [Int] = []
      skipSpaces()
      while !take(")") {
        let digitsStart = position
        while position < text.count, (0x30...0x39).contains(text[position]) { position += 1 }
        guard position > digitsStart, position - digitsStart <= 19,
              let dimension = Int(String(decoding: text[digitsStart..<position], as: UTF8.self)) else { return nil }
        _ = take("L")
        dimensions.append(dimension)
        skipSpaces()
        if take(",") { skipSpaces(); continue }
        guard take(")"), dimensions.count > 1 else { return nil }  // "(3)" is not a tuple
        break
      }
      return .tuple(dimensions)
    }
  }
}
