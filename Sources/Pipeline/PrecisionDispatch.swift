import Checkpoint
import Engine

/// Work written once, generic over the engine's scalar type, and run in the precision a manifest
/// names (`ntk.precision`) through `TilePrecision.dispatch` — the one place that maps a precision
/// to `Float` or `Double`.
public protocol PrecisionGeneric {
  associatedtype Output
  /// Does the work with scalars of type `T` (`Float` for float32, `Double` for float64).
  func execute<T: BLASScalar>(_: T.Type) throws -> Output
}

extension TilePrecision {
  /// Runs `work` with the scalar type of this precision: float32 → `Float`, float64 → `Double`.
  ///
  /// - Throws: what `work` throws.
  public func dispatch<Work: PrecisionGeneric>(_ work: Work) throws -> Work.Output {
    switch self {
    case .float32: return try work.execute(Float.self)
    case .float64: return try work.execute(Double.self)
    }
  }
}
