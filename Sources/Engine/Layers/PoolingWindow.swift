/// The window of `AvgPool2d` and `MaxPool2d` (PyTorch's `nn.AvgPool2d(k)`, `nn.MaxPool2d(k)`):
/// k×k, stride k, no padding, so `H' = ⌊H/k⌋`, `W' = ⌊W/k⌋`.
enum PoolingWindow {
  /// `[C, ⌊H/k⌋, ⌊W/k⌋]` for an input `[C, H, W]`.
  ///
  /// - Throws: `EngineError.shapeMismatch` naming `layer` (e.g. "MaxPool2d(2)") unless the input
  ///   is `[C, H, W]` with H, W ≥ k.
  static func outputShape(_ layer: String, kernelSize k: Int, input shape: [Int]) throws -> [Int] {
    guard shape.count == 3, shape[1] >= k, shape[2] >= k else {
      throw EngineError(.shapeMismatch, "\(layer) expects input [C, H, W] with H, W ≥ \(k), found \(shape)")
    }
    return [shape[0], shape[1] / k, shape[2] / k]
  }
}
