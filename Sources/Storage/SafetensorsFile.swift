import Foundation

/// A `.safetensors` file: named tensors with dtypes and shapes, as PyTorch's `safetensors.torch`
/// reads and writes them.
///
/// Layout: an 8-byte little-endian `UInt64` header length N, then N bytes of UTF-8 JSON
/// `{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ..., "__metadata__": {...}}`,
/// then the data buffer; offsets are relative to the start of the buffer, tensors are C order,
/// little-endian. Source: huggingface/safetensors, "Format" (README).
public struct SafetensorsFile: Sendable {
  /// One stored tensor.
  public struct Tensor: Sendable {
    /// `F64`, `F32`, `F16`, `BF16` or `I64`.
    public var dtype: String
    /// Tensor shape (PyTorch order, e.g. conv weight `[out, in/groups, kh, kw]`).
    public var shape: [Int]
    /// Raw little-endian element bytes.
    public var data: [UInt8]

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Elements converted to `Double` (exact for every float dtype).
    public func doubles() -> [Double] {
      data.withUnsafeBytes { raw in
        switch dtype {
        case "F64": return Array(raw.bindMemory(to: Double.self))
        case "F32": return raw.bindMemory(to: Float.self).map(Double.init)
        case "F16": return raw.bindMemory(to: Float16.self).map(Double.init)
        case "BF16":
          return raw.bindMemory(to: UInt16.self).map { Double(Float(bitPattern: UInt32($0) << 16)) }
        default: return raw.bindMemory(to: Int64.self).map(Double.init)
        }
      }
    }
  }

  /// Element sizes in bytes of the dtypes ntkbatch accepts.
  public static let elementSize: [String: Int] = ["F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8]

  /// Tensor names in file (data offset) order.
  public var names: [String]
  /// Tensors by name.
  public var tensors: [String: Tensor]

  /// Largest header accepted, as the reference loader (`MAX_HEADER_SIZE`, 100,000,000 bytes).
  public static let maximumHeaderBytes = 100_000_000

  /// Parses an in-memory file, accepting what the reference loader (huggingface/safetensors,
  /// `SafeTensors::deserialize` and `Metadata::validate`) accepts, with two deliberate exceptions:
  /// a key given twice is refused (the reference keeps the last entry when its offsets add up),
  /// and only the dtypes a model can use are read.
  ///
  /// Checked, in order: the 8-byte header length is at most 100,000,000 and within the file; the
  /// header is valid UTF-8 and a JSON object (surrounding whitespace allowed); no key
  /// appears twice in any object; `__metadata__`, if present, maps strings to strings; every other
  /// key holds `dtype`, `shape` (non-negative integers) and `data_offsets` (two non-negative
  /// integers); each dtype is one ntkbatch reads; each shape's byte size fits 64 bits; and the
  /// byte ranges, sorted by offset, tile the data buffer exactly: the first starts at 0, each
  /// starts where the previous one ends (no overlap, no gap), each holds dtype size × ∏ shape bytes,
  /// and the last ends at the end of the file.
  ///
  /// - Throws: `StorageError` (`.badInput`), one line `PATH: field: expected …, found …` naming the
  ///   tensor (or both tensors of an overlap). Nothing is allocated beyond the file's own size.
  public init(bytes: [UInt8], path: String) throws {
    func fail(_ message: String) -> StorageError { StorageError(path: path, message) }
    guard bytes.count >= 8 else {
      throw fail("header length: expected an 8-byte little-endian length, found a file of \(Plural.count(bytes.count, "byte"))")
    }
    let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
    guard length <= UInt64(bytes.count - 8) else {
      throw fail("header length: expected at most \(bytes.count - 8) (the bytes after it), found \(length)")
    }
    guard length <= UInt64(Self.maximumHeaderBytes) else {
      throw fail("header length: expected at most \(Plural.count(Self.maximumHeaderBytes, "byte")), found \(length)")
    }
    let dataStart = 8 + Int(length)
    let headerBytes = Array(bytes[8..<dataStart])
    guard String(validating: headerBytes, as: UTF8.self) != nil else {
      throw fail("header: expected UTF-8 JSON, found invalid UTF-8")
    }
    if let problem = JSONSyntax.firstProblem(in: headerBytes) {
      // Offsets in the file: the header starts after its 8-byte length.
      throw fail("header: expected a JSON object, found invalid JSON: \(problem.what) at byte \(8 + problem.offset) of the file (line \(problem.line), column \(problem.column) of the header)\(problem.detail.map { ", \($0)" } ?? "")")
    }
    let header: HeaderJSON
    do {
      header = try JSONDecoder().decode(HeaderJSON.self, from: Data(headerBytes))
    } catch {
      throw fail(Self.headerProblem(headerBytes))
    }
    if let number = Self.firstNonInteger(in: headerBytes) {
      throw fail("header: expected integers in shape and data_offsets, found the number \(number)")
    }
    if let duplicate = JSONDuplicateKeys.first(in: headerBytes) {
      throw fail("tensor '\(duplicate.path)': expected each key once in the header, found it twice")
    }
    var found: [(name: String, begin: Int, end: Int, dtype: String, shape: [Int])] = []
    for (name, entry) in header.tensors.sorted(by: { $0.key < $1.key }) {
      guard let size = Self.elementSize[entry.dtype] else {
        throw fail("tensor '\(name)': dtype: expected F32, F64, F16, BF16 or I64, found \(entry.dtype.prefix(20))")
      }
      guard entry.shape.allSatisfy({ $0 >= 0 }) else {
        throw fail("tensor '\(name)': shape: expected non-negative dimensions, found \(entry.shape)")
      }
      guard entry.dataOffsets.count == 2, entry.dataOffsets.allSatisfy({ $0 >= 0 }) else {
        throw fail("tensor '\(name)': data_offsets: expected [begin, end] (two integers ≥ 0), found \(entry.dataOffsets.prefix(4))")
      }
      guard let byteCount = ShapeSize.byteCount(entry.shape, elementBytes: size) else {
        throw fail("tensor '\(name)': shape \(entry.shape): too large (\(entry.dtype) × ∏ shape overflows 64 bits)")
      }
      let (begin, end) = (entry.dataOffsets[0], entry.dataOffsets[1])
      guard begin <= end else {
        throw fail("tensor '\(name)': data_offsets: expected begin ≤ end, found [\(begin), \(end)]")
      }
      guard end - begin == byteCount else {
        throw fail("tensor '\(name)': data_offsets [\(begin), \(end)]: expected \(Plural.count(byteCount, "byte")) for \(entry.dtype) \(entry.shape), found \(end - begin)")
      }
      found.append((name, begin, end, entry.dtype, entry.shape))
    }
    found.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
    let bufferBytes = bytes.count - dataStart
    var previous: (name: String, begin: Int, end: Int)?
    for tensor in found {
      let expectedBegin = previous?.end ?? 0
      if tensor.begin < expectedBegin, let previous {
        throw fail("tensors '\(previous.name)' and '\(tensor.name)': expected disjoint byte ranges, found them overlapping ([\(previous.begin), \(previous.end)) and [\(tensor.begin), \(tensor.end)))")
      }
      guard tensor.begin == expectedBegin else {
        throw fail("tensor '\(tensor.name)': data_offsets: expected to start at \(expectedBegin)\(previous.map { " where '\($0.name)' ends" } ?? "") (contiguous ranges), found \(tensor.begin)")
      }
      guard tensor.end <= bufferBytes else {
        throw fail("tensor '\(tensor.name)': data_offsets: expected to end within the \(bufferBytes)-byte data buffer, found \(tensor.end)")
      }
      previous = (tensor.name, tensor.begin, tensor.end)
    }
    guard (previous?.end ?? 0) == bufferBytes else {
      throw fail("data buffer: expected \(Plural.count(previous?.end ?? 0, "byte")) (where the last tensor ends), found \(bufferBytes)")
    }
    names = found.map(\.name)
    tensors = Dictionary(uniqueKeysWithValues: found.map {
      ($0.name, Tensor(dtype: $0.dtype, shape: $0.shape, data: Array(bytes[(dataStart + $0.begin)..<(dataStart + $0.end)])))
    })
  }

  /// The first JSON number outside strings written with a fraction or exponent (`10.0`, `1e1`):
  /// the reference loader reads shapes and offsets as integers only, and the header has no
  /// other numbers (`__metadata__` holds strings). Foundation's decoder would accept them as `Int`.
  static func firstNonInteger(in header: [UInt8]) -> String? {
    var position = 0
    while position < header.count {
      let byte = header[position]
      if byte == UInt8(ascii: "\"") {
        position += 1
        while position < header.count, header[position] != UInt8(ascii: "\"") {
          position += header[position] == UInt8(ascii: "\\") ? 2 : 1
        }
        position += 1
      } else if byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
        let start = position
        let numberBytes = Set("0123456789+-.eE".utf8)
        while position < header.count, numberBytes.contains(header[position]) { position += 1 }
        let token = header[start..<position]
        if token.contains(where: { Set(".eE".utf8).contains($0) }) { return String(decoding: token, as: UTF8.self) }
      } else {
        position += 1
      }
    }
    return nil
  }

  /// Which entry of a header that does not decode is at fault (one phrase for the message).
  private static func headerProblem(_ header: [UInt8]) -> String {
    let invalid = "header: expected a JSON object, found invalid JSON"
    guard let parsed = try? JSONSerialization.jsonObject(with: Data(header), options: [.fragmentsAllowed]) else { return invalid }
    guard let top = parsed as? [String: Any] else {
      return "header: expected a JSON object, found \(parsed is [Any] ? "an array" : "a single value")"
    }
    for name in top.keys.sorted() {
      let data = try? JSONSerialization.data(withJSONObject: [top[name] as Any])
      if name == "__metadata__" {
        if data.flatMap({ try? JSONDecoder().decode([[String: String]].self, from: $0) }) == nil {
          return "header: __metadata__: expected an object of strings"
        }
      } else if data.flatMap({ try? JSONDecoder().decode([HeaderJSON.Entry].self, from: $0) }) == nil {
        return "tensor '\(name)': expected dtype (a string), shape and data_offsets (integers ≥ 0 that fit 64 bits)"
      }
    }
    return invalid
  }

  /// The header as JSON: tensor entries by name, and `__metadata__` (string → string).
  private struct HeaderJSON: Decodable {
    struct Entry: Decodable {
      var dtype: String
      var shape: [Int]
      var dataOffsets: [Int]
      enum CodingKeys: String, CodingKey { case dtype, shape, dataOffsets = "data_offsets" }
    }
    struct Key: CodingKey {
      var stringValue: String
      var intValue: Int? { nil }
      init(stringValue: String) { self.stringValue = stringValue }
      init?(intValue: Int) { nil }
    }
    var tensors: [String: Entry] = [:]

    init(from decoder: Decoder) throws {
      let container = try decoder.container(keyedBy: Key.self)
      for key in container.allKeys {
        if key.stringValue == "__metadata__" {
          _ = try container.decode([String: String].self, forKey: key)
        } else {
          tensors[key.stringValue] = try container.decode(Entry.self, forKey: key)
        }
      }
    }
  }

  /// Reads a `.safetensors` file from disk.
  public static func read(path: String) throws -> SafetensorsFile {
    try SafetensorsFile(bytes: FileBytes.read(path: path), path: path)
  }

  /// Encodes named float tensors as a `.safetensors` file, in the given order.
  ///
  /// - Parameters:
  ///   - entries: name, shape and values (row-major) of each tensor.
  ///   - dtype: `F32` or `F64` storage.
  ///   - integerEntries: `I64` tensors (e.g. BatchNorm `num_batches_tracked`, shape `[]`).
  /// - Returns: the file bytes; the header is padded with spaces to a multiple of 8 bytes.
  public static func encode(
    _ entries: [(name: String, shape: [Int], values: [Double])], dtype: String = "F32",
    integerEntries: [(name: String, shape: [Int], values: [Int64])] = []
  ) -> [UInt8] {
    var headerParts: [String] = []
    var buffer: [UInt8] = []
    func add(_ name: String, _ type: String, _ shape: [Int], _ bytes: [UInt8]) {
      let begin = buffer.count
      buffer += bytes
      let dims = shape.map(String.init).joined(separator: ",")
      headerParts.append("\(jsonString(name)):{\"dtype\":\"\(type)\",\"shape\":[\(dims)],\"data_offsets\":[\(begin),\(buffer.count)]}")
    }
    for entry in entries {
      let bytes = dtype == "F64"
        ? entry.values.withUnsafeBytes { Array($0) }
        : entry.values.map(Float.init).withUnsafeBytes { Array($0) }
      add(entry.name, dtype == "F64" ? "F64" : "F32", entry.shape, bytes)
    }
    for entry in integerEntries { add(entry.name, "I64", entry.shape, entry.values.withUnsafeBytes { Array($0) }) }
    var header = Array(("{\"__metadata__\":{\"format\":\"pt\"}," + headerParts.joined(separator: ",") + "}").utf8)
    header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
    let length = UInt64(header.count)
    return (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) } + header + buffer
  }

  private static func jsonString(_ s: String) -> String {
    let data = try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
    let array = data.flatMap { String(data: $0, encoding: .utf8) } ?? "[\"\"]"
    return String(array.dropFirst().dropLast())
  }
}
