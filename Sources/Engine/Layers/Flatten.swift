/// Flattens each sample: `[B, C, H, W]` → `[B, C·H·W]` in C, H, W order (PyTorch `flatten(1)`);
/// the reverse pass reshapes the cotangent back. No copy.
public struct Flatten<Scalar: BLASScalar>: Layer {
  public init() {}

  public func outputShape(forInput shape: [Int]) throws -> [Int] { [shape.reduce(1, *)] }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ input: Tensor<Scalar>, state: UnsafeBufferPointer<Scalar>) -> Tensor<Scalar> {
    input.reshaped([input.batchSize, input.sampleSize])
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func inputCotangent(
    input: Tensor<Scalar>, output: Tensor<Scalar>, outputCotangent: Tensor<Scalar>,
    repeats: Int, state: UnsafeBufferPointer<Scalar>
  ) -> Tensor<Scalar> {
    outputCotangent.reshaped([outputCotangent.batchSize] + input.sampleShape)
  }
}
