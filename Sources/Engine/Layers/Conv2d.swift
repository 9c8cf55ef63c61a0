/// A 2-d convolution, PyTorch `nn.Conv2d(in, out, k, stride, padding, groups, bias)`
/// (cross-correlation, zero padding, square kernel):
///
///     y[n, o, i, j] = b[o] + Σ_{c ∈ group(o), u, v} W[o, c − c₀(o), u, v] · x[n, c, s·i − p + u, s·j − p + v]
///
/// with `x` `[B, in, H, W]`, `W` `[out, in/groups, k, k]`, `b` `[out]`, `y` `[B, out, H', W']`,
/// `H' = ⌊(H + 2p − k)/s⌋ + 1`. Computed as im2col + GEMM per sample and group: with
/// `col(x)` `[in·k·k, H'·W']`, `y_g = W_g · col_g(x)` — or, for "same" stride-1 convolutions of
/// up to 64 channels, as k² GEMMs with shifted views of the padded input
/// (`shiftedProductForward`). Reverse for cotangent rows δ
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

  /// Samples (or cotangent rows) per batched im2col chunk: the patch matrix `[in·k·k, c·L]` stays
  /// within about 128 Ki scalars (512 KiB in float32), so that it is still in the core's L2 cache
  /// (2 MiB on the benchmark machine) when the GEMM packs it right after it was written (with
  /// 2 Mi scalars per chunk the patches went to memory and back: ResNet18 width 16's factor phase
  /// took about 1.3× as long, `tools/bench`) — but with at least 512 columns (`c·L`), up to the
  /// former 2 Mi scalars, so that the GEMM's packing of the weights `[out, in·k·k]`, once per
  /// call, stays small against its `2·out·in·k²·c·L` FLOP (ResNet18 width 64's last stages:
  /// L = 16 or 64, 2,304 to 4,608 patch rows).
  func chunkSize(_ geometry: Geometry, count: Int) -> Int {
    let patchRows = inChannels * kernelSize * kernelSize
    let perRow = max(1, patchRows * geometry.positions)  // patch scalars of one sample or row
    let cacheBound = (1 << 17) / perRow
    let columnBound = min((512 + geometry.positions - 1) / geometry.positions, (1 << 21) / perRow)
    // At most half the count, so that `ParallelRows` has a chunk for each of two cores.
    return max(1, min((count + 1) / 2, max(cacheBound, columnBound)))
  }

  /// One GEMM per group between the weights `W` `[out, K_g]` at `w` (group g: `W_g` `[out_g, K_g]`)
  /// and `b`, the groups' blocks stacked in `b` and `c`, each of `ld` columns: `C_g = W_g · B_g`
  /// (`B_g` `[K_g, ld]`, `C_g` `[out_g, ld]`), or, `transposed`, `C_g = W_gᵀ · B_g` (`B_g`
  /// `[out_g, ld]`, `C_g` `[K_g, ld]`). β = 0: `c` is overwritten.
  @inline(__always)
  func weightProducts(
    transposed: Bool, _ w: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, columns ld: Int,
    into c: UnsafeMutablePointer<Scalar>
  ) {
    let (rows, depth) = transposed ? (groupPatch, groupOutputs) : (groupOutputs, groupPatch)
    for grp in 0..<groups {
      Scalar.gemm(
        transposeA: transposed, transposeB: false, m: rows, n: ld, k: depth,
        alpha: 1, a: w + grp * groupOutputs * groupPatch, lda: groupPatch,
        b: b + grp * depth * ld, ldb: ld,
        beta: 0, c: c + grp * rows * ld, ldc: ld)
    }
  }

  /// One GEMM per group of a cotangent row `δ` `[out, L]` and a sample's patches `col` `[K, L]`:
  /// `C_g = δ_g col_gᵀ + β·C_g` `[out_g, K_g]`, into `c` laid out as the weights `[out, K_g]`
  /// (β = 1 accumulates a gradient, β = 0 writes a Jacobian row).
  @inline(__always)
  func patchProducts(
    _ delta: UnsafePointer<Scalar>, _ patches: UnsafePointer<Scalar>, positions L: Int, beta: Scalar,
    into c: UnsafeMutablePointer<Scalar>
  ) {
    for grp in 0..<groups {
      Scalar.gemm(
        transposeA: false, transposeB: true, m: groupOutputs, n: groupPatch, k: L,
        alpha: 1, a: delta + grp * groupOutputs * L, lda: L,
        b: patches + grp * groupPatch * L, ldb: L,
        beta: beta, c: c + grp * groupOutputs * groupPatch, ldc: groupPatch)
    }
  }

  /// Stride 1, one group, "same" padding and at most 64 input channels: k² shifted products, no
  /// im2col (`shiftedProductForward`). Otherwise `im2colForward`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ input: Tensor<Scalar>, state: UnsafeBufferPointer<Scalar>) -> Tensor<Scalar> {
    forward(input, state: state, pool: nil)
  }

  /// As `forward(_:state:)`, the output and the im2col scratch taken from `pool` when given.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func forward(_ input: Tensor<Scalar>, state: UnsafeBufferPointer<Scalar>, pool: BufferPool<Scalar>?) -> Tensor<Scalar> {
    isShiftedProductConvolution
      ? shiftedProductForward(input, state: state, pool: pool) : im2colForward(input, state: state, pool: pool)
  }

  /// Batched over samples: per chunk of c samples (split over the cores by `ParallelRows`), the
  /// patches of all c samples side by side, `[in·k·k, c·L]`, one GEMM per group
  /// `W_g [out_g, K_g] × col_g [K_g, c·L]`, and a scatter into `[c, out, L]` (+ bias); for
  /// L ≥ 256 one GEMM per sample and group `[out_g, K_g] × [K_g, L]` straight into the output.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func im2colForward(_ input: Tensor<Scalar>, state: UnsafeBufferPointer<Scalar>, pool: BufferPool<Scalar>? = nil) -> Tensor<Scalar> {
    let g = geometry(input)
    let batch = input.batchSize
    let L = g.positions
    let K = inChannels * kernelSize * kernelSize
    let chunk = chunkSize(g, count: batch)
    // Every element is written below (the scatter of the GEMM results): no zero fill.
    var output = Tensor<Scalar>(uninitialized: [batch, outChannels, g.outHeight, g.outWidth], pool: pool)
    input.storage.withUnsafeBufferPointer { x in
      output.storage.withUnsafeMutableBufferPointer { y in
        ParallelRows.forEach((batch + chunk - 1) / chunk) { chunks in
          // Every element of both buffers is written before it is read (im2col, GEMM with β = 0).
          var patches = BufferPool.take(K * chunk * L, from: pool)
          // L ≥ 256: one GEMM per sample and group writes the output in place (n = L is large
          // enough); smaller L: one GEMM per chunk into `result`, scattered to the output.
          let direct = L >= 256
          let resultCount = direct ? 0 : outChannels * chunk * L
          var result = BufferPool.take(resultCount, from: pool)
          let w = state.baseAddress!
          do {
            patches.withUnsafeMutableBufferPointer { u in
              result.withUnsafeMutableBufferPointer { z in
                for c0 in chunks {
                  let first = c0 * chunk, count = min(chunk, batch - first)
                  let ld = count * L
                  for n in 0..<count {
                    writeColumns(of: x.baseAddress! + (first + n) * g.inputSize, geometry: g, into: u.baseAddress! + n * L, rowStride: ld)
                  }
                  if direct {
                    for n in 0..<count {
                      let ys = y.baseAddress! + (first + n) * outChannels * L
                      for grp in 0..<groups {
                        Scalar.gemm(
                          transposeA: false, transposeB: false, m: groupOutputs, n: L, k: groupPatch,
                          alpha: 1, a: w + grp * groupOutputs * groupPatch, lda: groupPatch,
                          b: u.baseAddress! + grp * groupPatch * ld + n * L, ldb: ld,
                          beta: 0, c: ys + grp * groupOutputs * L, ldc: L)
                      }
                      if hasBias {
                        for o in 0..<outChannels {
                          let bias = w[weightCount + o]
                          let dst = ys + o * L
                          for l in 0..<L { dst[l] += bias }
                        }
                      }
                    }
                    continue
                  }
                  weightProducts(transposed: false, w, u.baseAddress!, columns: ld, into: z.baseAddress!)
                  for n in 0..<count {
                    let ys = y.baseAddress! + (first + n) * outChannels * L
                    for o in 0..<outChannels {
                      let src = z.baseAddress! + o * ld + n * L
                      let dst = ys + o * L
                      if hasBias {
                        let bias = w[weightCount + o]
                        for l in 0..<L { dst[l] = src[l] + bias }
                      } else {
                        dst.update(from: src, count: L)
                      }
                    }
                  }
                }
              }
            }
          }
          pool?.give(consume patches)
          pool?.give(consume result)
        }
      }
    }
    return output
  }

  /// Stride 1, one group, k > 1, "same" padding: the transposed convolution (`transposedConvolution`,
  /// batched like `forward`). 1×1 stride 1 with L ≥ 256: one GEMM per row and group, no copies.
  /// Otherwise batched over cotangent rows: per chunk of c rows, the cotangents gathered
  /// as `[out, c·L]`, one GEMM per group `W_gᵀ [K_g, out_g] × δ_g [out_g, c·L]` → patch cotangents
  /// `[K, c·L]`, then col2im per row. A valid convolution (stride 1, padding 0, k > 1,
  /// `W/2 ≤ W' < W`, LeNet's conv2) gathers each row's cotangents on the input's width,
  /// `[out, H'·W]` with zeros at columns `j ≥ W'`: the GEMM costs `W/W'` times as much (1.4× for
  /// LeNet's conv2), and col2im
  /// becomes one contiguous addition per patch row (`accumulateWideColumns`) instead of `H'`
  /// additions of `W'` scalars (10 for LeNet's conv2, where the row-by-row col2im took longer
  /// than the GEMM).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func inputCotangent(
    input: Tensor<Scalar>, output: Tensor<Scalar>, outputCotangent: Tensor<Scalar>,
    repeats: Int, state: UnsafeBufferPointer<Scalar>
  ) -> Tensor<Scalar> {
    inputCotangent(input: input, output: output, outputCotangent: outputCotangent, repeats: repeats, state: state, pool: nil)
  }

  /// As `inputCotangent(input:output:outputCotangent:repeats:state:)`, the result and the scratch
  /// (gathered cotangents, patch cotangents) taken from `pool` when given.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func inputCotangent(
    input: Tensor<Scalar>, output: Tensor<Scalar>, outputCotangent: Tensor<Scalar>,
    repeats: Int, state: UnsafeBufferPointer<Scalar>, pool: BufferPool<Scalar>?
  ) -> Tensor<Scalar> {
    if let transposed = transposedConvolution {
      return flippedWeights(state).withUnsafeBufferPointer { transposed.forward(outputCotangent, state: $0, pool: pool) }
    }
    let g = geometry(input)
    let rows = outputCotangent.batchSize
    let L = g.positions
    let K = inChannels * kernelSize * kernelSize
    if isPointwise && L >= 256 {
      // 1×1, stride 1, L ≥ 256: col2im is the identity, so one GEMM per row and group
      // `W_gᵀ δ_{r,g}` `[K_g, L]` straight from the row's cotangent into its input cotangent (no
      // gather into `[out, c·L]` and no copy back: two passes over the rows saved; n = L is wide
      // enough for the GEMM). Rows split over the cores, every element written.
      var result = Tensor<Scalar>(uninitialized: [rows] + input.sampleShape, pool: pool)
      outputCotangent.storage.withUnsafeBufferPointer { d in
        result.storage.withUnsafeMutableBufferPointer { dx in
          ParallelRows.forEach(rows) { range in
            for r in range {
              weightProducts(transposed: true, state.baseAddress!, d.baseAddress! + r * outChannels * L, columns: L,
                             into: dx.baseAddress! + r * g.inputSize)
            }
          }
        }
      }
      return result
    }
    let chunk = chunkSize(g, count: rows)
    // A valid convolution (stride 1, no padding) with an output narrower than its input, but at
    // least half as wide (the GEMM's extra cost, W/W', at most 2), lays each row's cotangents out
    // on the input's width, so that col2im adds whole patch rows (`accumulateWideColumns`).
    let wide = stride == 1 && padding == 0 && kernelSize > 1 && g.outWidth < g.width && 2 * g.outWidth >= g.width
    let Lc = wide ? g.outHeight * g.width : L  // columns of one row in the gathered and patch matrices
    // Each row is zeroed (before its col2im) by the thread that computes it: no serial zero fill.
    var result = Tensor<Scalar>(uninitialized: [rows] + input.sampleShape, pool: pool)
    outputCotangent.storage.withUnsafeBufferPointer { d in
      result.storage.withUnsafeMutableBufferPointer { dx in
        ParallelRows.forEach((rows + chunk - 1) / chunk) { chunks in
          // Every element read is written first (the gather, GEMM with β = 0).
          var gathered = BufferPool.take(outChannels * chunk * Lc, from: pool)
          var dcol = BufferPool.take(K * chunk * Lc, from: pool)
          let w = state.baseAddress!
          gathered.withUnsafeMutableBufferPointer { e in
            dcol.withUnsafeMutableBufferPointer { dc in
              for c0 in chunks {
                let first = c0 * chunk, count = min(chunk, rows - first)
                let ld = count * Lc
                for n in 0..<count {
                  let dr = d.baseAddress! + (first + n) * outChannels * L
                  for o in 0..<outChannels {
                    let column = e.baseAddress! + o * ld + n * Lc
                    if wide {
                      for i in 0..<g.outHeight {
                        (column + i * g.width).update(from: dr + o * L + i * g.outWidth, count: g.outWidth)
                        (column + i * g.width + g.outWidth).update(repeating: 0, count: g.width - g.outWidth)
                      }
                    } else {
                      column.update(from: dr + o * L, count: L)
                    }
                  }
                }
                weightProducts(transposed: true, w, e.baseAddress!, columns: ld, into: dc.baseAddress!)
                for n in 0..<count {
                  let target = dx.baseAddress! + (first + n) * g.inputSize
                  if isPointwise {
                    // col2im is the identity: copy the row's columns.
                    for k in 0..<K { (target + k * L).update(from: dc.baseAddress! + k * ld + n * L, count: L) }
                  } else if wide {
                    target.update(repeating: 0, count: g.inputSize)
                    accumulateWideColumns(dc.baseAddress! + n * Lc, into: target, geometry: g, rowStride: ld)
                  } else {
                    target.update(repeating: 0, count: g.inputSize)
                    accumulateColumns(dc.baseAddress! + n * L, into: target, geometry: g, rowStride: ld)
                  }
                }
              }
            }
          }
          pool?.give(consume gathered)
          pool?.give(consume dcol)
        }
      }
    }
    return result
  }

  /// For stride 1, one group and a kernel larger than 1×1, the input cotangent is itself a
  /// convolution of the output cotangent (the transposed convolution):
  /// `∂x[c, y, x] = Σ_{o,u,v} W[o, c, k−1−u, k−1−v] · δ[o, y − q + u, x − q + v]` with padding
  /// `q = k − 1 − p`, i.e. `Conv2d(out, in, k, padding: q)` with the flipped, transposed weights
  /// (`flippedWeights`). Computed by `forward` (batched im2col of δ + one GEMM with depth
  /// `out·k²` per chunk), which replaces the GEMM of depth `out` and the col2im scatter.
  /// Only for "same" padding (`2p = k − 1`, output as large as the input): with less padding the
  /// transposed convolution's im2col of δ is mostly padding and its GEMM costs `H·W/(H'·W')` times
  /// the direct one (LeNet's 5×5 conv2 on 14×14: 196 against 100 positions, a 400-row patch matrix
  /// against 150 rows of patch cotangents).
  /// `nil` for the other convolutions (they keep GEMM + col2im).
  var transposedConvolution: Conv2d? {
    guard stride == 1, groups == 1, kernelSize > 1, 2 * padding == kernelSize - 1 else { return nil }
    return Conv2d(outChannels, inChannels, kernelSize: kernelSize, stride: 1, padding: kernelSize - 1 - padding, bias: false)
  }

  /// The weights of `transposedConvolution`: `W′[c, o, u, v] = W[o, c, k−1−u, k−1−v]`, `[in, out, k, k]`.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func flippedWeights(_ state: UnsafeBufferPointer<Scalar>) -> [Scalar] {
    let k = kernelSize, kk = kernelSize * kernelSize
    var flipped = [Scalar](repeating: 0, count: weightCount)
    for o in 0..<outChannels {
      for c in 0..<inChannels {
        for u in 0..<k {
          for v in 0..<k {
            flipped[(c * outChannels + o) * kk + (k - 1 - u) * k + (k - 1 - v)] = state[(o * inChannels + c) * kk + u * k + v]
          }
        }
      }
    }
    return flipped
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
            patchProducts(dn, patches, positions: L, beta: 1, into: gw)
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
          // Bias rows: the sums over positions of the sample's δ rows `[repeats·out, L]`, one GEMV
          // with a vector of ones (vectorised; a scalar loop was a third of LeNet's conv1 part).
          let ones = [Scalar](repeating: 1, count: hasBias ? L : 0)
          var biasSums = [Scalar](repeating: 0, count: hasBias ? repeats * outChannels : 0)
          col.withUnsafeMutableBufferPointer { colBuffer in
            staging.withUnsafeMutableBufferPointer { stage in
            for n in samples {
              if hasBias {
                Scalar.gemv(m: repeats * outChannels, n: L, alpha: 1, a: d.baseAddress! + n * repeats * outChannels * L,
                            lda: L, x: ones, beta: 0, y: &biasSums)
              }
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
                if groups > 1 { patchProducts(dr, patches, positions: L, beta: 0, into: jr) }
                if hasBias {
                  biasSums.withUnsafeBufferPointer { sums in
                    (jr + weightCount).update(from: sums.baseAddress! + (r - n * repeats) * outChannels, count: outChannels)
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
