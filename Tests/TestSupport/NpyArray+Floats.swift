import Storage

extension NpyArray {
  /// Elements converted to `Float` (exact for `float32` data), for comparing with float32 fixtures.
  public func floats() -> [Float] { doubles().map(Float.init) }
}
