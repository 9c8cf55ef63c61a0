/// Batch normalisation in training mode, PyTorch `nn.BatchNorm2d(C)` in `train()` (eps = 1e-5),
/// for one batch: the layer carries that batch's per-channel statistics
///
///     μ_c = 1/M Σ_{n,i,j} x[n, c, i, j],   σ²_c = 1/M Σ_{n,i,j} (x[n, c, i, j] − μ_c)²   (M = N·H·W, biased)
///     x̂ = (x − μ_c) / √(σ²_c + ε),         y = γ_c · x̂ + β_c
///
/// and, unlike inference mode, every output depends on the whole batch through μ and σ². Reverse
/// for cotangents δ `[N, C, H, W]` (Ioffe & Szegedy 2015, §3, backpropagation through the
/// statistics): `∂x = γ_c/√(σ²_c + ε) · (δ − mean_c(δ) − x̂ · mean_c(δ · x̂))`,
/// `∂γ_c = Σ δ · x̂`, `∂β_c = Σ δ`. Only `repeats = 1` (one cotangent row per sample) is defined.
///
/// Same state layout as `BatchNorm2d` (`weight`, `bias`, `running_mean`, `running_var`); the
/// running statistics are ignored here and updated by `BatchNorm2d.updateRunningStatistics`.
public struct BatchStatisticsNorm2d<Scalar: BLASScalar>: Layer {
  public let channels: Int
  public let epsilon: Double
  /// μ_c, `[C]`.
  public let mean: [Scalar]
  /// Biased σ²_c, `[C]`.
  public let variance: [Scalar]
  /// M = N·H·W, the number of values each statistic is taken over.
  public let count: Int

  /// The statistics of `input` `[N, C, H, W]` (two passes per channel: mean, then squared deviations).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public init(channels: Int, epsilon: Double, batch input: Tensor<Scalar>) {
    self.channels = channels
    self.epsilon = epsilon
    let plane = input.sampleSize / channels
    let batch = input.batchSize
    var mean = [Scalar](repeating: 0, count: channels)
    var variance = [Scalar](repeating: 0, count: channels)
    input.storage.withUnsafeBufferPointer { x in
      for c in 0..<channels {
        var sum: Scalar = 0
        for n in 0..<batch {
          let p = x.baseAddress! + (n * channels + c) * plane
          for i in 0..<plane { sum += p[i] }
        }
        let mu = sum / Scalar(batch * plane)
        var squares: Scalar = 0
        for n in 0..<batch {
          let p = x.baseAddress! + (n * channels + c) * plane
          for i in 0..<plane {
            let d = p[i] - mu
            squares += d * d
          }
        }
        mean[c] = mu
        variance[c] = squares / Scalar(batch * plane)
      }
    }
    self.mean = mean
    self.variance = variance
    self.count = batch * plane
  }

  public var stateSpecs: [LayerStateSpec] { BatchNorm2d<Scalar>(channels, epsilon: epsilon).stateSpecs }

  public func outputShape(forInput shape: [Int]) throws -> [Int] {
    try BatchNorm2d<Scalar>(channels, epsilon: epsilon).outputShape(forInput: shape)
  }

  /// `1/√(σ²_c + ε)` per channel.
  private var inverseStd: [Scalar] { variance.map { 1 / ($0 + Scalar(epsilon)).squareRoot() } }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ input: Tensor<Scalar>, state: UnsafeBufferPointer<Scalar>) -> Tensor<Scalar> {
    let inv = inverseStd
    let plane = input.sampleSize / channels
    var output = input
    output.storage.withUnsafeMutableBufferPointer { y in
      for n in 0..<input.batchSize {
        for c in 0..<channels {
          let (scale, mu, shift) = (state[c] * inv[c], mean[c], state[channels + c])
          let p = y.baseAddress! + (n * channels + c) * plane
          for i in 0..<plane { p[i] = (p[i] - mu) * scale + shift }
        }
      }
    }
    return output
  }

  /// Per channel: `(Σ δ, Σ δ · x̂)` over the batch.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func cotangentSums(_ input: Tensor<Scalar>, _ cotangent: Tensor<Scalar>) -> (delta: [Scalar], deltaXHat: [Scalar]) {
    let inv = inverseStd
    let plane = input.sampleSize / channels
    var sumDelta = [Scalar](repeating: 0, count: channels)
    var sumDeltaXHat = [Scalar](repeating: 0, count: channels)
    input.storage.withUnsafeBufferPointer { x in
      cotangent.storage.withUnsafeBufferPointer { d in
        for n in 0..<input.batchSize {
          for c in 0..<channels {
            let offset = (n * channels + c) * plane
            let (xp, dp, mu) = (x.baseAddress! + offset, d.baseAddress! + offset, mean[c])
            var sd: Scalar = 0, sdx: Scalar = 0
            for i in 0..<plane {
              sd += dp[i]
              sdx += dp[i] * (xp[i] - mu)
            }
            sumDelta[c] += sd
            sumDeltaXHat[c] += sdx * inv[c]
          }
        }
      }
    }
    return (sumDelta, sumDeltaXHat)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func inputCotangent(
    input: Tensor<Scalar>, output: Tensor<Scalar>, outputCotangent: Tensor<Scalar>,
    repeats: Int, state: UnsafeBufferPointer<Scalar>
  ) -> Tensor<Scalar> {
    precondition(repeats == 1, "training-mode BatchNorm has no per-row reverse pass (repeats = \(repeats))")
    let inv = inverseStd
    let plane = input.sampleSize / channels
    let (sumDelta, sumDeltaXHat) = cotangentSums(input, outputCotangent)
    let m = Scalar(count)
    var result = outputCotangent
    input.storage.withUnsafeBufferPointer { x in
      result.storage.withUnsafeMutableBufferPointer { d in
        for n in 0..<input.batchSize {
          for c in 0..<channels {
            let offset = (n * channels + c) * plane
            let (xp, dp) = (x.baseAddress! + offset, d.baseAddress! + offset)
            let (scale, mu, meanDelta, meanDeltaXHat) = (state[c] * inv[c], mean[c], sumDelta[c] / m, sumDeltaXHat[c] / m)
            for i in 0..<plane {
              let xHat = (xp[i] - mu) * inv[c]
              dp[i] = scale * (dp[i] - meanDelta - xHat * meanDeltaXHat)
            }
          }
        }
      }
    }
    return result
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func accumulateParameterGradient(
    input: Tensor<Scalar>, outputCotangent: Tensor<Scalar>, repeats: Int,
    state: UnsafeBufferPointer<Scalar>, into gradient: UnsafeMutableBufferPointer<Scalar>
  ) {
    precondition(repeats == 1, "training-mode BatchNorm has no per-row reverse pass (repeats = \(repeats))")
    let (sumDelta, sumDeltaXHat) = cotangentSums(input, outputCotangent)
    for c in 0..<channels {
      gradient[c] += sumDeltaXHat[c]
      gradient[channels + c] += sumDelta[c]
    }
  }
}

extension BatchNorm2d {
  /// PyTorch's running-statistics update after a training-mode batch (momentum 0.1):
  /// `running_mean ← (1 − 0.1)·running_mean + 0.1·μ`, `running_var ← (1 − 0.1)·running_var + 0.1·σ²·M/(M − 1)`
  /// (the unbiased variance; for M = 1, where it is undefined, σ² = 0 is used).
  /// `state` is the layer's slice `[weight, bias, running_mean, running_var]`.
  public func updateRunningStatistics(
    _ statistics: BatchStatisticsNorm2d<Scalar>, state: UnsafeMutableBufferPointer<Scalar>, momentum: Double = 0.1
  ) {
    let keep = Scalar(1 - momentum), take = Scalar(momentum)
    let correction = statistics.count > 1 ? Scalar(statistics.count) / Scalar(statistics.count - 1) : 1
    for c in 0..<channels {
      state[2 * channels + c] = keep * state[2 * channels + c] + take * statistics.mean[c]
      state[3 * channels + c] = keep * state[3 * channels + c] + take * statistics.variance[c] * correction
    }
  }
}
