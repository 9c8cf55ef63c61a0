/// Global average pooling, PyTorch `nn.AdaptiveAvgPool2d(1)` (`gap` in models.md):
///
///     y[n, c, 0, 0] = (1/(H·W)) Σ_{i,j} x[n, c, i, j]
///
/// `[B, C, H, W]` → `[B, C, 1, 1]`. Reverse: `∂x[n, c, i, j] = δ[n, c, 0, 0] / (H·W)`.
public struct GlobalAvgPool2d<Scalar: BLASScalar>: Layer {
  public init() {}

  public func outputShape(forInput shape: [Int]) throws -> [Int] {
    guard shape.count == 3 else {
      throw EngineError(.shapeMismatch, "GlobalAvgPool2d expects input [C, H, W], found \(shape)")
    }
    return [shape[0], 1, 1]
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ input: Tensor<Scalar>, state: UnsafeBufferPointer<Scalar>) -> Tensor<Scalar> {
    let channels = input.shape[1]
    let plane = input.shape[2] * input.shape[3]
    var output = Tensor<Scalar>(zeros: [input.batchSize, channels, 1, 1])
    let norm = 1 / Scalar(plane)
    input.storage.withUnsafeBufferPointer { x in
      output.storage.withUnsafeMutableBufferPointer { y in
        ParallelRows.forEach(input.batchSize * channels, scalars: input.count) { planes in
          for p in planes {
            var s: Scalar = 0
            let xp = x.baseAddress! + p * plane
            for i in 0..<plane { s += xp[i] }
            y[p] = s * norm
          }
        }
      }
    }
    return output
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func inputCotangent(
    input: Tensor<Scalar>, output: Tensor<Scalar>, outputCotangent: Tensor<Scalar>,
    repeats: Int, state: UnsafeBufferPointer<Scalar>
  ) -> Tensor<Scalar> {
    let channels = input.shape[1]
    let plane = input.shape[2] * input.shape[3]
    let rows = outputCotangent.batchSize
    var result = Tensor<Scalar>(uninitialized: [rows] + input.sampleShape)
    let norm = 1 / Scalar(plane)
    outputCotangent.storage.withUnsafeBufferPointer { d in
      result.storage.withUnsafeMutableBufferPointer { dx in
        ParallelRows.forEach(rows * channels, scalars: rows * channels * plane) { planes in
          for p in planes {
            (dx.baseAddress! + p * plane).update(repeating: d[p] * norm, count: plane)
          }
        }
      }
    }
    return result
  }
}
