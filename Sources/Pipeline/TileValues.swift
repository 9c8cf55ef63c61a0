import Foundation

/// A computed tile's values as the raw tile bytes they are (little-endian scalars, row-major), so
/// `TileRunner` stores them without copying them into a `[UInt8]` first (`Array` is
/// `ContiguousBytes` only for bytes).
public struct TileValues<Scalar>: ContiguousBytes {
  /// The tile's values.
  public let values: [Scalar]

  public init(_ values: [Scalar]) {
    self.values = values
  }

  public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
    try values.withUnsafeBytes(body)
  }
}
