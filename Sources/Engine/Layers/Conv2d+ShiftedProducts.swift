extension Conv2d {
  /// Whether `forward` sums k² shifted products instead of one im2col GEMM: stride 1, one group,
  /// k > 1, "same" padding (`2p = k − 1`) and at most `shiftedProductMaximumChannels` input
  /// channels — the ResNet/WideResNet 3×3 convolutions of stride 1 up to 64 channels, and the
  /// transposed convolution of each (their reverse pass, `inputCotangent`).
  var isShiftedProductConvolution: Bool {
    stride == 1 && groups == 1 && kernelSize > 1 && 2 * padding == kernelSize - 1
      && inChannels <= Self.shiftedProductMaximumChannels
  }

  /// Input channels up to which the shifted products beat the batched im2col + GEMM. With few
  /// channels the GEMM's depth (`in·k²`) is small and writing and packing the patch matrix
  /// dominates; with many, the im2col GEMM is deep, batches several samples per call (at least
  /// 512 columns) and packs the weights once, while the shifted products' GEMMs have depth `in`
  /// and only `H·(W + 2p)` columns (24 for a 4 × 4 output). `tools/bench` rows, factor phase,
  /// shifted products for every such convolution against none (this machine, noisy): ResNet18
  /// width 16 7–16 % faster (its layer1 reverse 53 → 28 ms, layer3, 64 channels at 8 × 8,
  /// 31 → 19 ms); width 64 about 6 % slower (256 and 512 channels at 8 × 8 and 4 × 4), not slower
  /// with this limit.
  static var shiftedProductMaximumChannels: Int { 64 }

  /// The convolution as a sum of k² products with shifted views of the zero-padded input, no
  /// im2col:
  ///
  ///     y[o, i, j] = b[o] + Σ_{u,v} Σ_c W[o, c, u, v] · x̃[c, i + u, j + v]
  ///
  /// with `x̃` `[in, H + 2p, W + 2p]` the input padded by p zeros. On x̃'s rows of `W̃ = W + 2p`
  /// scalars, output `(i, j)` reads x̃ at `(i + u)·W̃ + j + v`: for a fixed `(u, v)` one constant
  /// offset, so `W_uv x̃` over all positions is one GEMM `[out, in] × [in, H·W̃]` whose second
  /// operand is x̃ itself at offset `u·W̃ + v` (leading dimension the padded plane's size). Its
  /// columns `j ≥ W` read wrapped values and are dropped when the result `[out, H, W̃]` is
  /// compacted to `[out, H, W]`. Per sample: a copy of the input into x̃'s interior (border and
  /// the `2p` scalars of slack after each plane stay zero), k² GEMMs accumulating (β = 0, then 1)
  /// of depth `in`, and the compaction (+ bias).
  ///
  /// Same FLOP as im2col + GEMM (× W̃/W for the dropped columns), but no patch matrix
  /// `[in·k², L]` is written and packed: for ResNet18 width 16's layer1 (16 channels, 32 × 32)
  /// the patch matrix of one sample is 590 KB, nine times its input; measured in C against a plain
  /// im2col + GEMM, one core, 320 samples: 16 channels at 32 × 32 about 3×, 64 at 8 × 8 about 2×
  /// faster. Samples split over the cores (`ParallelRows`, single-threaded GEMMs); every output
  /// element is written by the same calls whatever the split.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func shiftedProductForward(_ input: Tensor<Scalar>, state: UnsafeBufferPointer<Scalar>, pool: BufferPool<Scalar>? = nil) -> Tensor<Scalar> {
    let g = geometry(input)
    let batch = input.batchSize
    let k = kernelSize, p = padding
    let (h, w) = (g.height, g.width)  // output as large as the input ("same")
    let paddedWidth = w + 2 * p
    let plane = (h + 2 * p) * paddedWidth + 2 * p  // one padded plane and the slack the last shift reads
    let wideColumns = h * paddedWidth
    let L = h * w
    // W_uv [out, in] for each tap (u, v), from W [out, in, k, k].
    var taps = [Scalar](unsafeUninitializedCapacity: k * k * outChannels * inChannels) { _, n in n = k * k * outChannels * inChannels }
    for o in 0..<outChannels {
      for c in 0..<inChannels {
        for uv in 0..<(k * k) { taps[(uv * outChannels + o) * inChannels + c] = state[(o * inChannels + c) * k * k + uv] }
      }
    }
    var output = Tensor<Scalar>(uninitialized: [batch, outChannels, h, w], pool: pool)
    taps.withUnsafeBufferPointer { wt in
      input.storage.withUnsafeBufferPointer { x in
        output.storage.withUnsafeMutableBufferPointer { y in
          ParallelRows.forEach(batch) { samples in
            // Zero once: only the interior is written below.
            var padded = [Scalar](repeating: 0, count: inChannels * plane)
            var wide = [Scalar](unsafeUninitializedCapacity: outChannels * wideColumns) { _, n in n = outChannels * wideColumns }
            padded.withUnsafeMutableBufferPointer { xp in
              wide.withUnsafeMutableBufferPointer { yw in
                for n in samples {
                  let xs = x.baseAddress! + n * g.inputSize
                  for c in 0..<inChannels {
                    let target = xp.baseAddress! + c * plane + p * paddedWidth + p
                    for i in 0..<h { (target + i * paddedWidth).update(from: xs + (c * h + i) * w, count: w) }
                  }
                  for u in 0..<k {
                    for v in 0..<k {
                      let uv = u * k + v
                      Scalar.gemm(
                        transposeA: false, transposeB: false, m: outChannels, n: wideColumns, k: inChannels,
                        alpha: 1, a: wt.baseAddress! + uv * outChannels * inChannels, lda: inChannels,
                        b: xp.baseAddress! + u * paddedWidth + v, ldb: plane,
                        beta: uv == 0 ? 0 : 1, c: yw.baseAddress!, ldc: wideColumns)
                    }
                  }
                  let ys = y.baseAddress! + n * outChannels * L
                  for o in 0..<outChannels {
                    let bias: Scalar = hasBias ? state[weightCount + o] : 0
                    for i in 0..<h {
                      let src = yw.baseAddress! + o * wideColumns + i * paddedWidth
                      let dst = ys + o * L + i * w
                      if hasBias {
                        for j in 0..<w { dst[j] = src[j] + bias }
                      } else {
                        dst.update(from: src, count: w)
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
    return output
  }
}
