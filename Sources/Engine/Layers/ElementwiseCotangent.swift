/// The reverse pass of an elementwise layer (`ReLU`, `Tanh`): each cotangent row is scaled in
/// place by the derivative at its sample, which reads one row of a saved tensor (the layer's input
/// for ReLU, its output for Tanh).
enum ElementwiseCotangent {
  /// `outputCotangent` with `update(saved, row, width)` applied to each row in place; `saved` is
  /// the row's sample in `values` (row r belongs to sample `r / repeats`), `width` the values per
  /// sample.
  @inline(__always)
  static func apply<Scalar: BLASScalar>(
    _ outputCotangent: Tensor<Scalar>, saved values: Tensor<Scalar>, repeats: Int,
    _ update: (UnsafePointer<Scalar>, UnsafeMutablePointer<Scalar>, Int) -> Void
  ) -> Tensor<Scalar> {
    var result = outputCotangent
    let width = values.sampleSize
    values.storage.withUnsafeBufferPointer { x in
      result.storage.withUnsafeMutableBufferPointer { d in
        for r in 0..<outputCotangent.batchSize {
          update(x.baseAddress! + (r / repeats) * width, d.baseAddress! + r * width, width)
        }
      }
    }
    return result
  }
}
