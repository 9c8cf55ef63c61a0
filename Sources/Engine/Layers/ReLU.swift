/// Rectified linear unit, elementwise: `y = max(x, 0)`; reverse `∂x = δ · [x > 0]`
/// (derivative 0 at 0, as PyTorch). Any shape.
public struct ReLU<Scalar: BLASScalar>: InPlaceCotangentLayer {
  public init() {}

  public func outputShape(forInput shape: [Int]) throws -> [Int] { shape }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ input: Tensor<Scalar>, state: UnsafeBufferPointer<Scalar>) -> Tensor<Scalar> {
    var output = Tensor<Scalar>(uninitialized: input.shape)
    let width = input.sampleSize
    input.storage.withUnsafeBufferPointer { x in
      output.storage.withUnsafeMutableBufferPointer { y in
        ParallelRows.forEach(input.batchSize, scalars: input.count) { samples in
          for i in (samples.lowerBound * width)..<(samples.upperBound * width) { y[i] = x[i] < 0 ? 0 : x[i] }
        }
      }
    }
    return output
  }

  /// `δ ← δ · [x > 0]` in place (`BLASScalar.zeroWhereNotPositive`, vectorised).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func inputCotangentInPlace(
    input: Tensor<Scalar>, output: Tensor<Scalar>, cotangent: inout Tensor<Scalar>,
    repeats: Int, state: UnsafeBufferPointer<Scalar>
  ) -> Bool {
    ElementwiseCotangent.applyInPlace(&cotangent, saved: input, repeats: repeats) { xs, dr, width in
      Scalar.zeroWhereNotPositive(xs, dr, count: width)
    }
    return true
  }
}
