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
    applyInPlace(&result, saved: values, repeats: repeats, update)
    return result
  }

  /// `update(saved, row, width)` applied to each row of `cotangent` in place (no copy: the
  /// reverse pass owns its cotangent).
  @inline(__always)
  static func applyInPlace<Scalar: BLASScalar>(
    _ cotangent: inout Tensor<Scalar>, saved values: Tensor<Scalar>, repeats: Int,
    _ update: (UnsafePointer<Scalar>, UnsafeMutablePointer<Scalar>, Int) -> Void
  ) {
    let width = values.sampleSize
    let rows = cotangent.batchSize
    values.storage.withUnsafeBufferPointer { x in
      cotangent.storage.withUnsafeMutableBufferPointer { d in
        // Rows split over the cores (each row is updated by the same code whatever the split).
        ParallelRows.forEach(rows, scalars: rows * width) { range in
          for r in range {
            update(x.baseAddress! + (r / repeats) * width, d.baseAddress! + r * width, width)
          }
        }
      }
    }
  }
}
