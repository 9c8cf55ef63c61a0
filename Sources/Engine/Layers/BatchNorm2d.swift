/// Batch normalisation in inference mode, PyTorch `nn.BatchNorm2d(C)` in `eval()` (eps = 1e-5):
///
///     y[n, c, i, j] = (x[n, c, i, j] − μ_c) / √(σ²_c + ε) · γ_c + β_c
///
/// an affine map per channel, so each sample's output depends on that sample alone.
/// Reverse for cotangent rows δ: `∂x = δ · γ_c/√(σ²_c + ε)`,
/// `∂γ_c = Σ_{ij} δ[c, i, j] · x̂[c, i, j]` with `x̂ = (x − μ)/√(σ² + ε)`, `∂β_c = Σ_{ij} δ[c, i, j]`.
/// State: `weight` γ `[C]` (init 1), `bias` β `[C]` (init 0) — trainable; `running_mean` μ `[C]`
/// (init 0), `running_var` σ² `[C]` (init 1) — constants.
public struct BatchNorm2d<Scalar: BLASScalar>: InPlaceCotangentLayer {
  public let channels: Int
  public let epsilon: Double

  public init(_ channels: Int, epsilon: Double = 1e-5) {
    self.channels = channels
    self.epsilon = epsilon
  }

  public var stateSpecs: [LayerStateSpec] {
    [
      LayerStateSpec("weight", [channels]), LayerStateSpec("bias", [channels]),
      LayerStateSpec("running_mean", [channels], trainable: false),
      LayerStateSpec("running_var", [channels], trainable: false),
    ]
  }

  public func outputShape(forInput shape: [Int]) throws -> [Int] {
    guard shape.count == 3, shape[0] == channels else {
      throw EngineError(.shapeMismatch, "BatchNorm2d(\(channels)) expects input [\(channels), H, W], found \(shape)")
    }
    return shape
  }

  /// `1/√(σ²_c + ε)` per channel.
  private func inverseStd(_ state: UnsafeBufferPointer<Scalar>) -> [Scalar] {
    (0..<channels).map { 1 / (state[3 * channels + $0] + Scalar(epsilon)).squareRoot() }
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ input: Tensor<Scalar>, state: UnsafeBufferPointer<Scalar>) -> Tensor<Scalar> {
    let inv = inverseStd(state)
    let plane = input.sampleSize / channels
    var output = Tensor<Scalar>(uninitialized: input.shape)
    input.storage.withUnsafeBufferPointer { x in
      output.storage.withUnsafeMutableBufferPointer { y in
        ParallelRows.forEach(input.batchSize, scalars: input.count) { samples in
          for n in samples {
            for c in 0..<channels {
              let scale = state[c] * inv[c]
              let mean = state[2 * channels + c]
              let shift = state[channels + c]
              let q = x.baseAddress! + (n * channels + c) * plane
              let p = y.baseAddress! + (n * channels + c) * plane
              for i in 0..<plane { p[i] = (q[i] - mean) * scale + shift }
            }
          }
        }
      }
    }
    return output
  }

  /// `δ ← δ · γ_c/√(σ²_c + ε)` in place.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func inputCotangentInPlace(
    input: Tensor<Scalar>, output: Tensor<Scalar>, cotangent: inout Tensor<Scalar>,
    repeats: Int, state: UnsafeBufferPointer<Scalar>
  ) -> Bool {
    let inv = inverseStd(state)
    let plane = input.sampleSize / channels
    let rows = cotangent.batchSize
    cotangent.storage.withUnsafeMutableBufferPointer { d in
      ParallelRows.forEach(rows, scalars: rows * channels * plane) { range in
        for r in range {
          for c in 0..<channels {
            let scale = state[c] * inv[c]
            Scalar.scale(d.baseAddress! + (r * channels + c) * plane, by: scale, count: plane)
          }
        }
      }
    }
    return true
  }

  /// Per row: `(∂γ, ∂β)` into `row[0 ..< C]`, `row[C ..< 2C]`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  private func rowGradient(
    _ d: UnsafePointer<Scalar>, _ x: UnsafePointer<Scalar>, plane: Int, inv: [Scalar],
    state: UnsafeBufferPointer<Scalar>, into row: UnsafeMutablePointer<Scalar>
  ) {
    for c in 0..<channels {
      let mean = state[2 * channels + c]
      var sg: Scalar = 0, sb: Scalar = 0
      let dp = d + c * plane, xp = x + c * plane
      for i in 0..<plane {
        sg += dp[i] * (xp[i] - mean)
        sb += dp[i]
      }
      row[c] += sg * inv[c]
      row[channels + c] += sb
    }
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func accumulateParameterGradient(
    input: Tensor<Scalar>, outputCotangent: Tensor<Scalar>, repeats: Int,
    state: UnsafeBufferPointer<Scalar>, into gradient: UnsafeMutableBufferPointer<Scalar>
  ) {
    let inv = inverseStd(state)
    let width = input.sampleSize
    input.storage.withUnsafeBufferPointer { x in
      outputCotangent.storage.withUnsafeBufferPointer { d in
        for r in 0..<outputCotangent.batchSize {
          rowGradient(
            d.baseAddress! + r * width, x.baseAddress! + (r / repeats) * width, plane: width / channels,
            inv: inv, state: state, into: gradient.baseAddress!)
        }
      }
    }
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func jacobianPart(
    input: Tensor<Scalar>, outputCotangent: Tensor<Scalar>, repeats: Int,
    state: UnsafeBufferPointer<Scalar>, structured: Bool
  ) -> JacobianPart<Scalar>? {
    // Per sample and channel two GEMVs over the sample's `repeats` rows, `[repeats, H·W]` (row
    // stride C·H·W): with the centred input x − μ_c (computed once per sample) for ∂γ, with ones
    // for ∂β — a tenth of the BLAS calls of one dot product per row and channel (3.4 million of
    // them for resnet50 width 16 at 32 samples, whose planes are as small as 4 × 4).
    let inv = inverseStd(state)
    let width = input.sampleSize
    let plane = width / channels
    let rows = outputCotangent.batchSize
    var centred = [Scalar](unsafeUninitializedCapacity: input.count) { _, count in count = input.count }
    input.storage.withUnsafeBufferPointer { x0 in
      centred.withUnsafeMutableBufferPointer { x in
        ParallelRows.forEach(input.batchSize, scalars: input.count) { samples in
          for n in samples {
            for c in 0..<channels {
              let mean = state[2 * channels + c]
              let q = x0.baseAddress! + n * width + c * plane
              let p = x.baseAddress! + n * width + c * plane
              for i in 0..<plane { p[i] = q[i] - mean }
            }
          }
        }
      }
    }
    let ones = [Scalar](repeating: 1, count: plane)
    // Every element is written below.
    var jacobian = [Scalar](unsafeUninitializedCapacity: rows * 2 * channels) { _, count in count = rows * 2 * channels }
    centred.withUnsafeBufferPointer { x in
      ones.withUnsafeBufferPointer { one in
        outputCotangent.storage.withUnsafeBufferPointer { d in
          jacobian.withUnsafeMutableBufferPointer { j in
            // Samples split over the cores (ParallelRows: single-threaded GEMVs, the same per sample).
            ParallelRows.forEach(input.batchSize, scalars: rows * width) { samples in
              var sums = [Scalar](repeating: 0, count: 2 * repeats)
              sums.withUnsafeMutableBufferPointer { y in
                for n in samples {
                  let dn = d.baseAddress! + n * repeats * width, xn = x.baseAddress! + n * width
                  for c in 0..<channels {
                    Scalar.gemv(m: repeats, n: plane, alpha: 1, a: dn + c * plane, lda: width, x: xn + c * plane,
                                beta: 0, y: y.baseAddress!)
                    Scalar.gemv(m: repeats, n: plane, alpha: 1, a: dn + c * plane, lda: width, x: one.baseAddress!,
                                beta: 0, y: y.baseAddress! + repeats)
                    for k in 0..<repeats {
                      let row = j.baseAddress! + (n * repeats + k) * 2 * channels
                      row[c] = y[k] * inv[c]
                      row[channels + c] = y[repeats + k]
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return .explicit(columns: 2 * channels, values: jacobian)
  }

  public func initialize(state: UnsafeMutableBufferPointer<Scalar>, generator: inout SplitMix64) {
    for c in 0..<channels {
      state[c] = 1
      state[channels + c] = 0
      state[2 * channels + c] = 0
      state[3 * channels + c] = 1
    }
  }
}
