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

  /// Parses an in-memory file.
  ///
  /// - Throws: `StorageError` naming `path` (and the tensor) for a truncated file, a header that is
  ///   not JSON, an unsupported dtype, or data offsets that disagree with dtype × shape.
  public init(bytes: [UInt8], path: String) throws {
    func fail(_ message: String) -> StorageError { StorageError(path: path, "not a readable .safetensors file: \(message)") }
    guard bytes.count >= 8 else { throw fail("shorter than its 8-byte header length") }
    let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
    guard length <= UInt64(bytes.count - 8) else { throw fail("header length \(length) exceeds the file size") }
    let dataStart = 8 + Int(length)
    guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])),
          let header = object as? [String: Any] else { throw fail("header is not a JSON object") }
    var found: [(name: String, begin: Int, tensor: Tensor)] = []
    for (name, value) in header where name != "__metadata__" {
      guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
            let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int],
            offsets.count == 2 else { throw fail("tensor '\(name)' lacks dtype, shape or data_offsets") }
      guard let size = Self.elementSize[dtype] else {
        throw fail("tensor '\(name)' has dtype \(dtype) (expected F32, F64, F16, BF16 or I64)")
      }
      let (begin, end) = (offsets[0], offsets[1])
      guard shape.allSatisfy({ $0 >= 0 }), begin >= 0, end >= begin, dataStart + end <= bytes.count,
            end - begin == shape.reduce(1, *) * size else {
        throw fail("tensor '\(name)' data_offsets \(offsets) disagree with \(dtype) \(shape) or the file size")
      }
      found.append((name, begin, Tensor(dtype: dtype, shape: shape, data: Array(bytes[(dataStart + begin)..<(dataStart + end)]))))
    }
    found.sort { $0.begin < $1.begin }
    names = found.map(\.name)
    tensors = Dictionary(uniqueKeysWithValues: found.map { ($0.name, $0.tensor) })
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
