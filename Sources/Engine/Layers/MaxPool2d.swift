/// Max pooling, PyTorch `nn.MaxPool2d(k)` (window k×k, stride k, no padding):
///
///     y[n, c, i, j] = max_{0≤u,v<k} x[n, c, k·i + u, k·j + v],   H' = ⌊H/k⌋
///
/// Reverse: each output cotangent goes to the window's arg-max (the first maximum in row-major
/// window order on ties, as PyTorch's CPU kernel); arg-maxes are found once per sample and shared
/// by its `repeats` cotangent rows.
public struct MaxPool2d<Scalar: BLASScalar>: Layer {
  public let kernelSize: Int

  public init(_ kernelSize: Int) { self.kernelSize = kernelSize }

  public func outputShape(forInput shape: [Int]) throws -> [Int] {
    try PoolingWindow.outputShape("MaxPool2d(\(kernelSize))", kernelSize: kernelSize, input: shape)
  }

  /// Writes, for each output element of one sample, the flat input index of its window's maximum.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func argMax(
    _ x: UnsafePointer<Scalar>, channels: Int, height: Int, width: Int, into index: UnsafeMutablePointer<Int>
  ) {
    let k = kernelSize
    let oh = height / k, ow = width / k
    var o = 0
    for c in 0..<channels {
      for i in 0..<oh {
        for j in 0..<ow {
          var best = c * height * width + (i * k) * width + j * k
          var bestValue = x[best]
          for u in 0..<k {
            for v in 0..<k {
              let at = c * height * width + (i * k + u) * width + j * k + v
              if x[at] > bestValue || x[at].isNaN {
                bestValue = x[at]
                best = at
              }
            }
          }
          index[o] = best
          o += 1
        }
      }
    }
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ input: Tensor<Scalar>, state: UnsafeBufferPointer<Scalar>) -> Tensor<Scalar> {
    let (c, h, w) = (input.shape[1], input.shape[2], input.shape[3])
    let outShape = [c, h / kernelSize, w / kernelSize]
    let outSize = outShape.reduce(1, *)
    var output = Tensor<Scalar>(uninitialized: [input.batchSize] + outShape)
    input.storage.withUnsafeBufferPointer { x in
      output.storage.withUnsafeMutableBufferPointer { y in
        ParallelRows.forEach(input.batchSize, scalars: input.count) { samples in
          var index = [Int](repeating: 0, count: outSize)
          index.withUnsafeMutableBufferPointer { idx in
            for n in samples {
              let xs = x.baseAddress! + n * c * h * w
              argMax(xs, channels: c, height: h, width: w, into: idx.baseAddress!)
              for o in 0..<outSize { y[n * outSize + o] = xs[idx[o]] }
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
    let (c, h, w) = (input.shape[1], input.shape[2], input.shape[3])
    let inSize = c * h * w
    let outSize = outputCotangent.sampleSize
    // Each row is zeroed and scattered by the thread that owns its sample (no serial zero fill).
    var result = Tensor<Scalar>(uninitialized: [outputCotangent.batchSize] + input.sampleShape)
    input.storage.withUnsafeBufferPointer { x in
      outputCotangent.storage.withUnsafeBufferPointer { d in
        result.storage.withUnsafeMutableBufferPointer { dx in
          ParallelRows.forEach(input.batchSize, scalars: outputCotangent.batchSize * inSize) { samples in
            var index = [Int](repeating: 0, count: outSize)
            index.withUnsafeMutableBufferPointer { idx in
              for n in samples {
                argMax(x.baseAddress! + n * inSize, channels: c, height: h, width: w, into: idx.baseAddress!)
                for r in (n * repeats)..<((n + 1) * repeats) {
                  let dr = d.baseAddress! + r * outSize
                  let dxr = dx.baseAddress! + r * inSize
                  dxr.update(repeating: 0, count: inSize)
                  for o in 0..<outSize { dxr[idx[o]] += dr[o] }
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
