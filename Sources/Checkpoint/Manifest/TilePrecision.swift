/// The floating-point precision in which tiles are computed and stored (`ntk.precision`).
///
/// Tile bytes are little-endian IEEE 754 values of this type.
public enum TilePrecision: String, Codable, CaseIterable, Sendable {
  /// IEEE 754 binary32 (4 bytes per value).
  case float32
  /// IEEE 754 binary64 (8 bytes per value).
  case float64

  /// Bytes per value.
  public var byteSize: Int { self == .float32 ? 4 : 8 }
}
