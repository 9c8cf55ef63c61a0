/// A 2-d convolution, PyTorch `nn.Conv2d(in, out, k, stride, padding, groups, bias)`
/// (cross-correlation, zero padding, square kernel):
///
///     y[n, o, i, j] = b[o] + Σ_{c ∈ group(o), u, v} W[o, c − c₀(o), u, v] · x[n, c, s·i − p + u, s·j − p + v]
///
/// with `x` `[B, in, H, W]`, `W` `[out, in/groups, k, k]`, `b` `[out]`, `y` `[B, out, H', W']`,
/// `H' = ⌊(H + 2p − k)/s⌋ + 1`. Computed as im2col + GEMM per sample and group: with
/// `col(x)` `[in·k·k, H'·W']`, `y_g = W_g · col_g(x)`. Reverse for cotangent rows δ
/// `[R, out, H', W']` (row `r` ↔ sample `r / repeats`): `∂x_r = col2im(W_gᵀ δ_{r,g})`,
/// `∂W_g = Σ_r δ_{r,g} col_g(x_{r/repeats})ᵀ`, `∂b[o] = Σ_r Σ_{ij} δ_r[o, i, j]`.
/// State: `weight`, optional `bias`; both uniform on ±1/√fan_in, `fan_in = in/groups · k · k`.
public struct Conv2d<Scalar: BLASScalar>: Layer {
  public let inChannels: Int
  public let outChannels: Int
  public let kernelSize: Int
  public let stride: Int
  public let padding: Int
  public let groups: Int
  public let hasBias: Bool

  public init(
    _ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
    groups: Int = 1, bias: Bool
  ) {
    precondition(inChannels % groups == 0 && outChannels % groups == 0, "channels not divisible by groups")
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.kernelSize = kernelSize
    self.stride = stride
    self.padding = padding
    self.groups = groups
    self.hasBias = bias
  }

  /// Rows of `col_g(x)` per group: `in/groups · k · k` (the weight's fan-in).
  var groupPatch: Int { inChannels / groups * kernelSize * kernelSize }
  var groupOutputs: Int { outChannels / groups }
  var weightCount: Int { outChannels * groupPatch }
  var isPointwise: Bool { kernelSize == 1 && stride == 1 && padding == 0 }

  public var stateSpecs: [LayerStateSpec] {
    let weight = LayerStateSpec("weight", [outChannels, inChannels / groups, kernelSize, kernelSize])
    return hasBias ? [weight, LayerStateSpec("bias", [outChannels])] : [weight]
  }

  public func outputShape(forInput shape: [Int]) throws -> [Int] {
    guard shape.count == 3, shape[0] == inChannels, shape[1] + 2 * padding >= kernelSize,
      shape[2] + 2 * padding >= kernelSize
    else {
      throw EngineError(
        .shapeMismatch,
        "Conv2d(\(inChannels), \(outChannels), k=\(kernelSize), p=\(padding)) expects input [\(inChannels), H, W], found \(shape)")
    }
    return [outChannels, outputSize(shape[1]), outputSize(shape[2])]
  }

  func outputSize(_ size: Int) -> Int { (size + 2 * padding - kernelSize) / stride + 1 }

  /// Geometry of one call: input `[C, H, W]` and output `[O, H', W']` per sample.
  struct Geometry {
    let height, width, outHeight, outWidth: Int
    var inputSize: Int
    var positions: Int { outHeight * outWidth }
  }

  func geometry(_ input: Tensor<Scalar>) -> Geometry {
    let h = input.shape[2], w = input.shape[3]
    return Geometry(
      height: h, width: w, outHeight: outputSize(h), outWidth: outputSize(w), inputSize: inChannels * h * w)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ input: Tensor<Scalar>, state: UnsafeBufferPointer<Scalar>) -> Tensor<Scalar> {
    let g = geometry(input)
    let batch = input.batchSize
    let L = g.positions
    var output = Tensor<Scalar>(zeros: [batch, outChannels, g.outHeight, g.outWidth])
    var col = [Scalar](repeating: 0, count: isPointwise ? 0 : inChannels * kernelSize * kernelSize * L)
    input.storage.withUnsafeBufferPointer { x in
      output.storage.withUnsafeMutableBufferPointer { y in
        col.withUnsafeMutableBufferPointer { colBuffer in
          let w = state.baseAddress!
          for n in 0..<batch {
            let xs = x.baseAddress! + n * g.inputSize
            let ys = y.baseAddress! + n * outChannels * L
            let patches = columns(of: xs, geometry: g, scratch: colBuffer.baseAddress)
            if hasBias {
              for o in 0..<outChannels {
                let bias = w[weightCount + o]
                for l in 0..<L { ys[o * L + l] = bias }
              }
            }
            for grp in 0..<groups {
              Scalar.gemm(
                transposeA: false, transposeB: false, m: groupOutputs, n: L, k: groupPatch,
                alpha: 1, a: w + grp * groupOutputs * groupPatch, lda: groupPatch,
                b: patches + grp * groupPatch * L, ldb: L,
                beta: hasBias ? 1 : 0, c: ys + grp * groupOutputs * L, ldc: L)
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
    let g = geometry(input)
    let rows = outputCotangent.batchSize
    let L = g.positions
    var result = Tensor<Scalar>(zeros: [rows] + input.sampleShape)
    outputCotangent.storage.withUnsafeBufferPointer { d in
      result.storage.withUnsafeMutableBufferPointer { dx in
        ParallelRows.forEach(rows) { range in
        var dcol = [Scalar](repeating: 0, count: isPointwise ? 0 : inChannels * kernelSize * kernelSize * L)
        dcol.withUnsafeMutableBufferPointer { dc in
          let w = state.baseAddress!
          for r in range {
            let dr = d.baseAddress! + r * outChannels * L
            // With a pointwise kernel col2im is the identity: write straight into ∂x.
            let target = isPointwise ? dx.baseAddress! + r * g.inputSize : dc.baseAddress!
            for grp in 0..<groups {
              Scalar.gemm(
                transposeA: true, transposeB: false, m: groupPatch, n: L, k: groupOutputs,
                alpha: 1, a: w + grp * groupOutputs * groupPatch, lda: groupPatch,
                b: dr + grp * groupOutputs * L, ldb: L,
                beta: 0, c: target + grp * groupPatch * L, ldc: L)
            }
            if !isPointwise { accumulateColumns(dc.baseAddress!, into: dx.baseAddress! + r * g.inputSize, geometry: g) }
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
    let g = geometry(input)
    let L = g.positions
    let delta = summedOverRepeats(outputCotangent, repeats: repeats)  // [B, out, L]
    var col = [Scalar](repeating: 0, count: isPointwise ? 0 : inChannels * kernelSize * kernelSize * L)
    input.storage.withUnsafeBufferPointer { x in
      delta.withUnsafeBufferPointer { d in
        col.withUnsafeMutableBufferPointer { colBuffer in
          let gw = gradient.baseAddress!
          for n in 0..<input.batchSize {
            let patches = columns(of: x.baseAddress! + n * g.inputSize, geometry: g, scratch: colBuffer.baseAddress)
            let dn = d.baseAddress! + n * outChannels * L
            for grp in 0..<groups {
              Scalar.gemm(
                transposeA: false, transposeB: true, m: groupOutputs, n: groupPatch, k: L,
                alpha: 1, a: dn + grp * groupOutputs * L, lda: L,
                b: patches + grp * groupPatch * L, ldb: L,
                beta: 1, c: gw + grp * groupOutputs * groupPatch, ldc: groupPatch)
            }
            if hasBias {
              for o in 0..<outChannels {
                var s: Scalar = 0
                for l in 0..<L { s += dn[o * L + l] }
                gw[weightCount + o] += s
              }
            }
          }
        }
      }
    }
  }

  /// With `structured`, the factored rows (`JacobianPart.convolution`, see
  /// `structuredJacobianPart`); otherwise
  /// explicit rows `[R, out·in/groups·k·k (+ out)]`: `J_r[W_g] = δ_{r,g} col_g(x_{r/repeats})ᵀ`,
  /// `J_r[b_o] = Σ_{ij} δ_r[o, i, j]` — im2col once per sample; with one group a single GEMM for the
  /// sample's `repeats` rows, else one GEMM per row and group.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func jacobianPart(
    input: Tensor<Scalar>, outputCotangent: Tensor<Scalar>, repeats: Int,
    state: UnsafeBufferPointer<Scalar>, structured: Bool
  ) -> JacobianPart<Scalar>? {
    if structured { return .convolution(structuredJacobianPart(input: input, outputCotangent: outputCotangent, repeats: repeats)) }
    let g = geometry(input)
    let L = g.positions
    let width = parameterCount
    let rows = outputCotangent.batchSize
    // Every element is written below (GEMM with β = 0, bias sums): no zero fill.
    var jacobian = [Scalar](unsafeUninitializedCapacity: rows * width) { _, count in count = rows * width }
    input.storage.withUnsafeBufferPointer { x in
      outputCotangent.storage.withUnsafeBufferPointer { d in
        jacobian.withUnsafeMutableBufferPointer { j in
          ParallelRows.forEach(input.batchSize) { samples in
          var col = [Scalar](repeating: 0, count: isPointwise ? 0 : inChannels * kernelSize * kernelSize * L)
          var staging = [Scalar](repeating: 0, count: groups == 1 && hasBias ? repeats * weightCount : 0)
          col.withUnsafeMutableBufferPointer { colBuffer in
            staging.withUnsafeMutableBufferPointer { stage in
            for n in samples {
              let patches = columns(of: x.baseAddress! + n * g.inputSize, geometry: g, scratch: colBuffer.baseAddress)
              if groups == 1 {
                // All `repeats` rows of sample n in one GEMM: δ rows [repeats·out, L] × colᵀ → [repeats·out, K].
                let target = hasBias ? stage.baseAddress! : j.baseAddress! + n * repeats * width
                Scalar.gemm(
                  transposeA: false, transposeB: true, m: repeats * outChannels, n: groupPatch, k: L,
                  alpha: 1, a: d.baseAddress! + n * repeats * outChannels * L, lda: L, b: patches, ldb: L,
                  beta: 0, c: target, ldc: groupPatch)
                if hasBias {
                  for k in 0..<repeats {
                    (j.baseAddress! + (n * repeats + k) * width).update(from: target + k * weightCount, count: weightCount)
                  }
                }
              }
              for r in (n * repeats)..<((n + 1) * repeats) {
                let dr = d.baseAddress! + r * outChannels * L
                let jr = j.baseAddress! + r * width
                for grp in 0..<groups where groups > 1 {
                  Scalar.gemm(
                    transposeA: false, transposeB: true, m: groupOutputs, n: groupPatch, k: L,
                    alpha: 1, a: dr + grp * groupOutputs * L, lda: L,
                    b: patches + grp * groupPatch * L, ldb: L,
                    beta: 0, c: jr + grp * groupOutputs * groupPatch, ldc: groupPatch)
                }
                if hasBias {
                  for o in 0..<outChannels {
                    var s: Scalar = 0
                    for l in 0..<L { s += dr[o * L + l] }
                    jr[weightCount + o] = s
                  }
                }
              }
            }
            }
          }
          }
        }
      }
    }
    return .explicit(columns: width, values: jacobian)
  }

  public func initialize(state: UnsafeMutableBufferPointer<Scalar>, generator: inout SplitMix64) {
    let bound = 1 / Double(groupPatch).squareRoot()
    fillUniform(state, range: 0..<stateCount, bound: bound, generator: &generator)
  }
}
