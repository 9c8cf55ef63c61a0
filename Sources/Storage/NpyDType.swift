/// Element types of NumPy `.npy` arrays that ntkbatch reads and writes, by their `descr` string.
///
/// Source: NumPy, "A simple file format for NumPy arrays" (NEP 1, `numpy/lib/format.py`).
public enum NpyDType: String, CaseIterable, Sendable {
  case float16 = "<f2"
  case float32 = "<f4"
  case float64 = "<f8"
  case int64 = "<i8"
  case uint8 = "|u1"

  /// Bytes per element.
  public var byteSize: Int {
    switch self {
    case .float16: return 2
    case .float32: return 4
    case .float64: return 8
    case .int64: return 8
    case .uint8: return 1
    }
  }

  /// Parses a `descr` value; `<u1`/`|u1` and `=` byte orders on little-endian hosts are accepted.
  public init?(descr: String) {
    var d = descr
    if d.hasPrefix("=") { d = "<" + d.dropFirst() }
    if d == "<u1" { d = "|u1" }
    guard let value = NpyDType(rawValue: d) else { return nil }
    self = value
  }
}
