/// Average pooling, PyTorch `nn.AvgPool2d(k)` (window k×k, stride k, no padding):
///
///     y[n, c, i, j] = (1/k²) Σ_{0≤u,v<k} x[n, c, k·i + u, k·j + v],   H' = ⌊H/k⌋
///
/// Reverse: `∂x[n, c, k·i + u, k·j + v] = δ[n, c, i, j] / k²`. `k = 1` is the identity.
public struct AvgPool2d<Scalar: BLASScalar>: Layer {
  public let kernelSize: Int

  public init(_ kernelSize: Int) { self.kernelSize = kernelSize }

  public func outputShape(forInput shape: [Int]) throws -> [Int] {
    try PoolingWindow.outputShape("AvgPool2d(\(kernelSize))", kernelSize: kernelSize, input: shape)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ input: Tensor<Scalar>, state: UnsafeBufferPointer<Scalar>) -> Tensor<Scalar> {
    let k = kernelSize
    let (c, h, w) = (input.shape[1], input.shape[2], input.shape[3])
    let (oh, ow) = (h / k, w / k)
    var output = Tensor<Scalar>(zeros: [input.batchSize, c, oh, ow])
    let norm = 1 / Scalar(k * k)
    input.storage.withUnsafeBufferPointer { x in
      output.storage.withUnsafeMutableBufferPointer { y in
        ParallelRows.forEach(input.batchSize * c, scalars: input.count) { planes in
          for plane in planes {
            let xp = x.baseAddress! + plane * h * w
            let yp = y.baseAddress! + plane * oh * ow
            for i in 0..<oh {
              for j in 0..<ow {
                var s: Scalar = 0
                for u in 0..<k {
                  for v in 0..<k { s += xp[(i * k + u) * w + j * k + v] }
                }
                yp[i * ow + j] = s * norm
              }
            }
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
    let k = kernelSize
    let (c, h, w) = (input.shape[1], input.shape[2], input.shape[3])
    let (oh, ow) = (h / k, w / k)
    let rows = outputCotangent.batchSize
    var result = Tensor<Scalar>(zeros: [rows, c, h, w])
    let norm = 1 / Scalar(k * k)
    outputCotangent.storage.withUnsafeBufferPointer { d in
      result.storage.withUnsafeMutableBufferPointer { dx in
        ParallelRows.forEach(rows * c, scalars: rows * c * h * w) { planes in
          for plane in planes {
            let dp = d.baseAddress! + plane * oh * ow
            let xp = dx.baseAddress! + plane * h * w
            for i in 0..<oh {
              for j in 0..<ow {
                let g = dp[i * ow + j] * norm
                for u in 0..<k {
                  for v in 0..<k { xp[(i * k + u) * w + j * k + v] = g }
                }
              }
            }
          }
        }
      }
    }
    return result
  }
}
