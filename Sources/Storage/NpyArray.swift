/// A whole NumPy `.npy` array held in memory: its header and raw little-endian C-order bytes.
///
/// Used for inputs (`dataset.name: npy`, fixtures), not for the assembled eNTK, which is written
/// block by block. Format: see `NpyHeader`.
public struct NpyArray: Sendable {
  /// Element type and shape.
  public var header: NpyHeader
  /// Raw element bytes, little-endian, C order; `header.dataBytes` long.
  public var data: [UInt8]

  /// Element type.
  public var dtype: NpyDType { header.dtype }
  /// Array shape.
  public var shape: [Int] { header.shape }

  /// Creates an array from raw bytes.
  public init(header: NpyHeader, data: [UInt8]) {
    self.header = header
    self.data = data
  }

  /// Parses an in-memory `.npy` file.
  ///
  /// - Throws: `StorageError` naming `path` for a bad header, Fortran order, or a data size that
  ///   disagrees with the shape (truncated or oversized file).
  public init(bytes: [UInt8], path: String) throws {
    let (header, offset) = try NpyHeader.decode(bytes, path: path)
    guard !header.fortranOrder else {
      throw StorageError(path: path, "Fortran-order arrays are not supported (expected C order)")
    }
    let found = bytes.count - offset
    guard found == header.dataBytes else {
      throw StorageError(path: path, "shape \(header.shape) of \(header.dtype.rawValue) needs \(header.dataBytes) data bytes, found \(found)")
    }
    self.init(header: header, data: Array(bytes[offset...]))
  }

  /// Reads an `.npy` file from disk.
  public static func read(path: String) throws -> NpyArray {
    try NpyArray(bytes: FileBytes.read(path: path), path: path)
  }

  /// The whole file: header then data.
  public func encoded() -> [UInt8] { header.encoded() + data }

  /// Elements converted to `Double` (exact for every supported dtype but large `int64`).
  public func doubles() -> [Double] {
    switch dtype {
    case .float16: return load(Float16.self).map(Double.init)
    case .float32: return load(Float.self).map(Double.init)
    case .float64: return load(Double.self)
    case .int64: return load(Int64.self).map(Double.init)
    case .uint8: return data.map(Double.init)
    }
  }

  /// Elements converted to `Int64` (floating values truncated).
  public func int64s() -> [Int64] {
    dtype == .int64 ? load(Int64.self) : doubles().map { Int64($0) }
  }

  private func load<T>(_ type: T.Type) -> [T] {
    let count = data.count / MemoryLayout<T>.stride
    return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
      data.withUnsafeBytes { raw in
        UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
      }
      initialized = count
    }
  }
}

extension NpyArray {
  /// Builds a float64 or float32 array from values (little-endian host assumed, as on x86-64 and arm64).
  public init<T: BinaryFloatingPoint>(shape: [Int], values: [T]) {
    let dtype: NpyDType = T.self == Double.self ? .float64 : (T.self == Float16.self ? .float16 : .float32)
    let bytes: [UInt8]
    switch dtype {
    case .float64: bytes = values.map(Double.init).withUnsafeBytes { Array($0) }
    case .float16: bytes = values.map(Float16.init).withUnsafeBytes { Array($0) }
    default: bytes = values.map(Float.init).withUnsafeBytes { Array($0) }
    }
    self.init(header: NpyHeader(dtype: dtype, shape: shape), data: bytes)
  }
}
