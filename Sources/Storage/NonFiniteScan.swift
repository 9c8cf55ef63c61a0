/// Finds NaN and ±Inf in arrays of floating-point values: weights and inputs (refused before a run
/// starts), computed tiles (never journaled) and stored tiles (`verify`).
///
/// A plain loop over contiguous memory, no allocation; `isFinite` is false for NaN, +Inf and -Inf.
public enum NonFiniteScan {
  /// The first non-finite value of an array and how many there are.
  public struct Finding: Equatable, Sendable {
    /// Flat (row-major) index of the first NaN or ±Inf.
    public var index: Int
    /// That value, as written in messages: `nan`, `inf` or `-inf`.
    public var value: String
    /// Number of non-finite values in the array.
    public var count: Int

    @usableFromInline
    init(index: Int, value: String, count: Int) {
      self.index = index
      self.value = value
      self.count = count
    }
  }

  /// The first non-finite value in `values`, or `nil` if all are finite. Inlinable, so callers
  /// get it specialised for their scalar type (an unspecialised generic loop over a 3.7 GB tile
  /// took 8 s, the specialised one a fraction of that).
  @inlinable
  public static func scan<T: BinaryFloatingPoint>(_ values: UnsafeBufferPointer<T>) -> Finding? {
    var first = -1
    var count = 0
    for index in values.indices where !values[index].isFinite {
      if first < 0 { first = index }
      count += 1
    }
    guard first >= 0 else { return nil }
    return Finding(index: first, value: describe(values[first]), count: count)
  }

  /// The first non-finite value in `values`, or `nil` if all are finite.
  @inlinable
  public static func scan<T: BinaryFloatingPoint>(_ values: [T]) -> Finding? {
    values.withUnsafeBufferPointer { scan($0) }
  }

  /// The first non-finite value among raw little-endian `Float` (`scalarBytes` 4) or `Double`
  /// (`scalarBytes` 8) bytes, e.g. a decompressed tile; `nil` if all are finite.
  public static func scan(raw: [UInt8], scalarBytes: Int) -> Finding? {
    raw.withUnsafeBytes { bytes -> Finding? in
      switch scalarBytes {
      case 4: return scan(bytes.bindMemory(to: Float.self))
      case 8: return scan(bytes.bindMemory(to: Double.self))
      default: return nil
      }
    }
  }

  /// `nan`, `inf` or `-inf` (as NumPy prints them).
  @inlinable
  public static func describe<T: BinaryFloatingPoint>(_ value: T) -> String {
    value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf")
  }

  /// The multi-index `[i, j, …]` of flat row-major `index` in an array of `shape`.
  public static func position(of index: Int, in shape: [Int]) -> [Int] {
    var rest = index
    var result = [Int](repeating: 0, count: shape.count)
    for axis in shape.indices.reversed() where shape[axis] > 0 {
      result[axis] = rest % shape[axis]
      rest /= shape[axis]
    }
    return result
  }
}
