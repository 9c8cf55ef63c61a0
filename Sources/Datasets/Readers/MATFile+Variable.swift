import Storage

extension MATFile {
  /// The storage type of a data element (`miINT8` … `miUTF32`, MAT-File Format table 1-1).
  public enum DataType: UInt32, Sendable {
    case int8 = 1, uint8 = 2, int16 = 3, uint16 = 4, int32 = 5, uint32 = 6
    case single = 7, double = 9, int64 = 12, uint64 = 13
    case matrix = 14, compressed = 15, utf8 = 16, utf16 = 17, utf32 = 18

    /// Bytes per element for numeric and character types; `nil` for `miMATRIX` and `miCOMPRESSED`.
    public var elementBytes: Int? {
      switch self {
      case .int8, .uint8, .utf8: return 1
      case .int16, .uint16, .utf16: return 2
      case .int32, .uint32, .single, .utf32: return 4
      case .double, .int64, .uint64: return 8
      case .matrix, .compressed: return nil
      }
    }
  }

  /// The MATLAB class of an array (`mxDOUBLE_CLASS` …, MAT-File Format table 1-3).
  public enum ArrayClass: UInt8, Sendable {
    case cell = 1, structure = 2, object = 3, char = 4, sparse = 5
    case double = 6, single = 7, int8 = 8, uint8 = 9, int16 = 10, uint16 = 11
    case int32 = 12, uint32 = 13, int64 = 14, uint64 = 15, function = 16, opaque = 17

    /// Whether arrays of this class carry a plain real (and imaginary) part that this reader keeps.
    public var isNumeric: Bool {
      switch self {
      case .char, .double, .single, .int8, .uint8, .int16, .uint16, .int32, .uint32, .int64, .uint64: return true
      case .cell, .structure, .object, .sparse, .function, .opaque: return false
      }
    }
  }

  /// One named array of a MAT-file.
  ///
  /// The real part is kept as raw little-endian bytes of its *storage* type (`dataType`), which
  /// MATLAB may choose narrower than the class (a `double` array of small integers stored as
  /// `miUINT8`). Elements are in MATLAB's column-major order: element `(i₀, i₁, …)` is at index
  /// `i₀ + d₀·(i₁ + d₁·(…))`.
  public struct Variable: Sendable {
    /// The variable name.
    public var name: String
    /// The MATLAB class.
    public var arrayClass: ArrayClass
    /// The dimensions `[d₀, d₁, …]` (at least two).
    public var dimensions: [Int]
    /// Whether the array is complex (its imaginary part is validated but not kept).
    public var isComplex: Bool
    /// Storage type of `real`; `nil` for classes without kept data (cell, struct, object, sparse).
    public var dataType: DataType?
    /// Real part: `elementCount · dataType.elementBytes` bytes, little-endian.
    public var real: [UInt8]

    /// `d₀ · d₁ · …`.
    public var elementCount: Int { dimensions.reduce(1, *) }

    /// The real part converted to `Double` (exact for every storage type but large 64-bit integers).
    ///
    /// - Throws: `DatasetError` naming `path` and the variable when it holds no numeric data.
    public func doubles(path: String) throws -> [Double] {
      guard let dataType, dataType.elementBytes != nil else {
        throw DatasetError(path: path, "variable '\(name)' of class \(arrayClass) holds no numeric data")
      }
      return real.withUnsafeBytes { raw in
        switch dataType {
        case .int8: return Self.load(raw, Int8.self).map(Double.init)
        case .uint8, .utf8: return raw.map(Double.init)
        case .int16: return Self.load(raw, Int16.self).map(Double.init)
        case .uint16, .utf16: return Self.load(raw, UInt16.self).map(Double.init)
        case .int32: return Self.load(raw, Int32.self).map(Double.init)
        case .uint32, .utf32: return Self.load(raw, UInt32.self).map(Double.init)
        case .single: return Self.load(raw, Float.self).map(Double.init)
        case .double: return Self.load(raw, Double.self)
        case .int64: return Self.load(raw, Int64.self).map(Double.init)
        case .uint64: return Self.load(raw, UInt64.self).map(Double.init)
        case .matrix, .compressed: return []
        }
      }
    }

    /// The real part as bytes, for a variable whose values are all integers 0…255 (class `uint8`, or
    /// any class stored as `miUINT8`); other storage types are converted and range-checked.
    ///
    /// - Throws: `DatasetError` naming `path` and the variable for non-numeric data or a value that
    ///   is not an integer in 0…255.
    public func uint8s(path: String) throws -> [UInt8] {
      if dataType == .uint8 { return real }
      let values = try doubles(path: path)
      var bytes = [UInt8](repeating: 0, count: values.count)
      for (index, value) in values.enumerated() {
        guard value >= 0, value <= 255, value.rounded() == value else {
          throw DatasetError(path: path, "variable '\(name)' element \(index) is \(value), expected an integer in 0...255")
        }
        bytes[index] = UInt8(value)
      }
      return bytes
    }

    private static func load<T>(_ raw: UnsafeRawBufferPointer, _ type: T.Type) -> [T] {
      let count = raw.count / MemoryLayout<T>.size
      return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(count * MemoryLayout<T>.size)]))
        initialized = count
      }
    }
  }
}
