import Storage

/// A filled band in the run precision.
enum BandValues {
  case float(UnsafeMutableBufferPointer<Float>)
  case double(UnsafeMutableBufferPointer<Double>)

  /// Writes one full `chunk × chunk` Zarr chunk in `dtype` at `destination`: band rows
  /// `0..<rows`, columns `firstColumn ..< firstColumn + columns`; the rest (beyond the array's
  /// edge) is NaN, the fill value. Returns how many finite values overflowed `dtype`.
  func convertChunk(rows: Int, bandColumns: Int, firstColumn: Int, columns: Int, chunk: Int, dtype: NpyDType,
                    into destination: UnsafeMutableRawPointer) -> Int {
    switch self {
    case .float(let v): return Self.chunk(v, rows, bandColumns, firstColumn, columns, chunk, dtype, destination)
    case .double(let v): return Self.chunk(v, rows, bandColumns, firstColumn, columns, chunk, dtype, destination)
    }
  }

  private static func chunk<S: BinaryFloatingPoint>(_ v: UnsafeMutableBufferPointer<S>, _ rows: Int, _ bandColumns: Int, _ firstColumn: Int,
                                                    _ columns: Int, _ chunk: Int, _ dtype: NpyDType, _ destination: UnsafeMutableRawPointer) -> Int {
    var overflow = 0
    let size = dtype.byteSize
    for r in 0..<chunk {
      let row = destination + r * chunk * size
      var filled = 0
      if r < rows {
        overflow += convert(UnsafePointer(v.baseAddress! + r * bandColumns + firstColumn), count: columns, dtype: dtype, into: row)
        filled = columns
      }
      if filled < chunk { fillNaN(row + filled * size, count: chunk - filled, dtype: dtype) }
    }
    return overflow
  }

  private static func fillNaN(_ destination: UnsafeMutableRawPointer, count: Int, dtype: NpyDType) {
    switch dtype {
    case .float16: destination.bindMemory(to: Float16.self, capacity: count).initialize(repeating: .nan, count: count)
    case .float32: destination.bindMemory(to: Float.self, capacity: count).initialize(repeating: .nan, count: count)
    default: destination.bindMemory(to: Double.self, capacity: count).initialize(repeating: .nan, count: count)
    }
  }

  /// Converts `count` values to `dtype` (round to nearest even) at `destination`; returns how many
  /// finite values became ±infinity.
  static func convert<S: BinaryFloatingPoint>(_ source: UnsafePointer<S>, count: Int, dtype: NpyDType,
                                              into destination: UnsafeMutableRawPointer) -> Int {
    switch dtype {
    case .float16 where S.self == Float.self:
      return source.withMemoryRebound(to: Float.self, capacity: count) {
        HalfPrecision.convert($0, count: count, into: destination.bindMemory(to: UInt16.self, capacity: count))
      }
    case .float16: return convert(source, count, destination.bindMemory(to: Float16.self, capacity: count))
    case .float32: return convert(source, count, destination.bindMemory(to: Float.self, capacity: count))
    default: return convert(source, count, destination.bindMemory(to: Double.self, capacity: count))
    }
  }

  @inline(__always)
  private static func convert<S: BinaryFloatingPoint, D: BinaryFloatingPoint>(_ source: UnsafePointer<S>, _ count: Int,
                                                                               _ target: UnsafeMutablePointer<D>) -> Int {
    var overflow = 0
    for i in 0..<count {
      let x = source[i]
      let y = D(x)
      if y.isInfinite && x.isFinite { overflow += 1 }
      target[i] = y
    }
    return overflow
  }
}
