/// Hyperbolic tangent, elementwise: `y = tanh(x)`; reverse `∂x = δ · (1 − y²)`. Any shape.
public struct Tanh<Scalar: BLASScalar>: Layer {
  public init() {}

  public func outputShape(forInput shape: [Int]) throws -> [Int] { shape }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ input: Tensor<Scalar>, state: UnsafeBufferPointer<Scalar>) -> Tensor<Scalar> {
    var output = input
    output.storage.withUnsafeMutableBufferPointer { y in
      for i in y.indices { y[i] = Scalar.hyperbolicTangent(y[i]) }
    }
    return output
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func inputCotangent(
    input: Tensor<Scalar>, output: Tensor<Scalar>, outputCotangent: Tensor<Scalar>,
    repeats: Int, state: UnsafeBufferPointer<Scalar>
  ) -> Tensor<Scalar> {
    ElementwiseCotangent.apply(outputCotangent, saved: output, repeats: repeats) { ys, dr, width in
      for i in 0..<width { dr[i] *= 1 - ys[i] * ys[i] }
    }
  }
}
