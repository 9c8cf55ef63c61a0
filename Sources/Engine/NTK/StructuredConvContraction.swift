/// Adds a `Conv2d` layer's contribution to an eNTK tile from its factors (`ConvolutionFactors`),
/// without forming its explicit Jacobian rows (Novak, Sohl-Dickstein & Schoenholz, ICML 2022):
///
///     G[x·m + a, y·m + b] += Σ_g Σ_{o ∈ g} Σ_{s,t} δ_xa[o,s] · (U_x,g U_y,gᵀ + β)[s,t] · δ_yb[o,t]
///
/// (s, t output positions, U the im2col patches `[L, K_g]`, β = 1 with a bias — the bias column's
/// `(Σ_s δ_xa[o,s])(Σ_t δ_yb[o,t])` — else 0). Per row sample x (the row samples split over the
/// cores by `ParallelRows` in fixed stacks of `stackRows` consecutive row samples, single-threaded
/// BLAS; each stack writes only its own rows of G), per group and chunk of c column samples y:
/// 1. for each x of the stack, the patch Gram `M_x = U_xᵀ U_chunk + β` `[L, c·L]`, one GEMM of
///    depth K_g (`2·L²·K_g` FLOP per pair) — or, where the factors hold the inputs (`PatchGram`:
///    stride 1, one group), the input Gram `X_xᵀ X_chunk` `[H·W, c·H·W]`, one GEMM of depth C_in,
///    and its k² shifted sums;
/// 2. per y of the chunk, for each x of the stack `Z_x = δ_x M_xy` `[m·out_g, L]`
///    (`2·m·out_g·L²` per pair), read as `[m, out_g·L]` (row a holds `(o, t)`), the stack's Z side
///    by side `[s·m, out_g·L]`; then, while they are in cache, one GEMM for the whole stack
///    `G[x·m + a, y·m + b] += Σ_(o,t) Z_x[a, (o,t)] δ_y[b, (o,t)]`, `[s·m, out_g·L] × [out_g·L, m]`
///    (`2·m²·out_g·L` per pair). A product with only m = 10 rows and columns runs far below the
///    GEMM rate; stacking 4 row samples doubles its speed (OpenBLAS, one core, out_g·L = 4,096:
///    15.8 → 27.8 GFLOP/s; it was about 40 % of resnet18 width 16's structured contraction).
/// Nothing of size `t²` is materialised: per core the stack's Gram chunks (`s·L·c·L ≤ gramLimit`
/// scalars, and one input Gram `H·W·c·H·W`) and Z (`s·m·out_g·L`). On a diagonal tile a stack
/// meets the column samples from its first row on: the few pairs y < x inside it land in the lower
/// triangle, which `TileKernel.finish`'s mirror overwrites; stacks p and S − 1 − p go to the same
/// core so that the cores get equal shares. Deterministic: the stacks are fixed by the tile (not
/// by the cores), so each block (x, y) is computed by the same BLAS calls with the same sizes
/// whatever the split over the cores.
/// FLOP model and when this is chosen: `ContractionChoice`.
public enum StructuredConvContraction {
  /// Scalars of a stack's patch Grams M per chunk at most.
  static let gramLimit = 1 << 22

  /// Row samples per stack (see the type's documentation): fixed, so that tiles do not depend on
  /// the number of cores; 4 keeps two stacks per core for tiles of 16 samples.
  static let stackRows = 4

  /// Column samples per chunk of the patch Grams: the stack's `M` `[L, c·L]` (and one input Gram
  /// `[H·W, c·H·W]` of a `PatchGram`) stay within `gramLimit` scalars.
  static func chunk(positions L: Int, patchGram: PatchGram?, columnSamples nJ: Int) -> Int {
    let side = max(L, patchGram?.inputPositions ?? 0)
    return max(1, min(nJ, gramLimit / max(1, stackRows * side * side)))
  }

  /// Scalars of scratch one core holds: a stack's Gram chunks (with one input Gram of a
  /// `PatchGram`) and Z. Two cores hold twice this.
  static func scratchScalars(positions L: Int, patchGram: PatchGram?, groupOutputs outG: Int, outputsPerSample m: Int,
                             columnSamples nJ: Int) -> Int {
    let c = chunk(positions: L, patchGram: patchGram, columnSamples: nJ)
    let HW = patchGram?.inputPositions ?? 0
    return stackRows * L * c * L + HW * c * HW + stackRows * m * outG * L
  }

  /// FLOP per off-diagonal sample pair of a layer's structured contraction (the cost model of
  /// `ContractionChoice` and `TileCostModel`, and what `accumulate` counts): per group the patch
  /// Gram (`PatchGram.pairFLOP`, else `2·L²·K_g`), Z (`2·m·out_g·L²`) and the `m × m` product
  /// (`2·m²·out_g·L`).
  static func pairFLOP(positions L: Int, groups: Int, groupPatch Kg: Int, groupOutputs outG: Int, outputsPerSample m: Int,
                       patchGram: PatchGram?) -> Double {
    let gram = patchGram?.pairFLOP ?? PatchGram.columnsPairFLOP(positions: L, patch: Kg)
    return Double(groups) * (gram + 2 * Double(m * outG * L * L) + 2 * Double(m * m * outG * L))
  }

  /// `pairFLOP` of `conv` on inputs `[C_in, H, W]` (`input`).
  static func pairFLOP<T: BLASScalar>(_ conv: Conv2d<T>, input: [Int], outputsPerSample m: Int) -> Double {
    let L = conv.outputSize(input[1]) * conv.outputSize(input[2])
    return pairFLOP(positions: L, groups: conv.groups, groupPatch: conv.groupPatch, groupOutputs: conv.groupOutputs,
                    outputsPerSample: m, patchGram: conv.patchGram(inputHeight: input[1], width: input[2]))
  }

  /// Adds the layer's `J_I J_Jᵀ` to `output` `[R_I, R_J]` (row-major), upper triangle (at least)
  /// when `isDiagonal`. Returns the FLOP done.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  @discardableResult
  public static func accumulate<T: BLASScalar>(
    _ a: ConvolutionFactors<T>, _ b: ConvolutionFactors<T>, outputsPerSample m: Int, isDiagonal: Bool,
    into output: UnsafeMutablePointer<T>
  ) -> Double {
    precondition(a.outputs == b.outputs && a.groups == b.groups && a.groupPatch == b.groupPatch
                   && a.positions == b.positions && a.hasBias == b.hasBias && a.patchGram == b.patchGram,
                 "convolution factors of different layers")
    precondition(!isDiagonal || a.samples == b.samples, "diagonal tile of blocks of different sizes")
    let nI = a.samples, nJ = b.samples, RJ = b.rows
    let L = a.positions, Kg = a.groupPatch, outG = a.groupOutputs
    let ldI = nI * L, ldJ = nJ * L
    let patchGram = a.patchGram
    let HW = patchGram?.inputPositions ?? 0, channels = patchGram?.channels ?? 0
    let chunk = chunk(positions: L, patchGram: patchGram, columnSamples: nJ)
    let pairFLOP = pairFLOP(positions: L, groups: a.groups, groupPatch: Kg, groupOutputs: outG, outputsPerSample: m, patchGram: patchGram)
    let stacks = (nI + stackRows - 1) / stackRows
    // Pairs computed: every row of stack s meets the column samples from the stack's first row on.
    var flop = 0.0
    for x in 0..<nI { flop += Double(isDiagonal ? nJ - x / stackRows * stackRows : nJ) * pairFLOP }
    let width = outG * L  // one cotangent row of a group, [out_g, L] read as out_g·L scalars
    let output = UnsafeMutableSendablePointer(output)
    a.patchesOrInputs.withUnsafeBufferPointer { uI in
      b.patchesOrInputs.withUnsafeBufferPointer { uJ in
        a.delta.withUnsafeBufferPointer { dI in
          b.delta.withUnsafeBufferPointer { dJ in
            // On a diagonal tile the unit p is the stacks p and S − 1 − p (about equal work per unit).
            let units = isDiagonal ? (stacks + 1) / 2 : stacks
            ParallelRows.forEach(units) { range in
              // Every element read is written first (GEMMs with β = 0, then the bias).
              // One scratch: the stack's M [L, chunk·L] each, then (patch-Gram layers) one input
              // Gram [HW, chunk·HW]; and the stack's Z [m, out_g·L] each.
              let gramCount = stackRows * L * chunk * L
              let scratchCount = gramCount + HW * chunk * HW
              var scratch = [T](unsafeUninitializedCapacity: scratchCount) { _, n in n = scratchCount }
              var z = [T](unsafeUninitializedCapacity: stackRows * m * width) { _, n in n = stackRows * m * width }
              scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                z.withUnsafeMutableBufferPointer { zBuffer in
                  let G = scratchBuffer.baseAddress! + gramCount, Z = zBuffer.baseAddress!
                  func stack(_ s: Int) {
                    let x0 = s * stackRows, rows = min(stackRows, nI - x0)
                    for grp in 0..<a.groups {
                      var y0 = isDiagonal ? x0 : 0
                      while y0 < nJ {
                        let ny = min(chunk, nJ - y0)
                        for i in 0..<rows {
                          // 1. M_x = U_xᵀ U_chunk (+1) [L, ny·L], or the shifted sums of X_xᵀ X_chunk.
                          let x = x0 + i, M = scratchBuffer.baseAddress! + i * L * ny * L
                          if let patchGram {
                            T.gemm(
                              transposeA: true, transposeB: false, m: HW, n: ny * HW, k: channels, alpha: 1,
                              a: uI.baseAddress! + x * HW, lda: nI * HW, b: uJ.baseAddress! + y0 * HW, ldb: nJ * HW,
                              beta: 0, c: G, ldc: ny * HW)
                            M.update(repeating: a.hasBias ? 1 : 0, count: L * ny * L)
                            patchGram.addShiftedSums(gram: G, samples: ny, into: M)
                          } else {
                            T.gemm(
                              transposeA: true, transposeB: false, m: L, n: ny * L, k: Kg, alpha: 1,
                              a: uI.baseAddress! + grp * Kg * ldI + x * L, lda: ldI,
                              b: uJ.baseAddress! + grp * Kg * ldJ + y0 * L, ldb: ldJ,
                              beta: 0, c: M, ldc: ny * L)
                            if a.hasBias {
                              for k in 0..<(L * ny * L) { M[k] += 1 }
                            }
                          }
                        }
                        for y in y0..<(y0 + ny) {
                          // 2. Z_x = δ_x M_xy [m·out_g, L] for the stack's rows, side by side, then
                          //    G[x, y] += Z_x δ_yᵀ over (o, t) for all of them in one GEMM.
                          for i in 0..<rows {
                            T.gemm(
                              transposeA: false, transposeB: false, m: m * outG, n: L, k: L, alpha: 1,
                              a: dI.baseAddress! + (grp * a.rows + (x0 + i) * m) * width, lda: L,
                              b: scratchBuffer.baseAddress! + i * L * ny * L + (y - y0) * L, ldb: ny * L,
                              beta: 0, c: Z + i * m * width, ldc: L)
                          }
                          T.gemm(
                            transposeA: false, transposeB: true, m: rows * m, n: m, k: width, alpha: 1,
                            a: Z, lda: width, b: dJ.baseAddress! + (grp * b.rows + y * m) * width, ldb: width,
                            beta: 1, c: output.pointer + x0 * m * RJ + y * m, ldc: RJ)
                        }
                        y0 += ny
                      }
                    }
                  }
                  for unit in range {
                    stack(unit)
                    if isDiagonal && stacks - 1 - unit != unit { stack(stacks - 1 - unit) }
                  }
                }
              }
            }
          }
        }
      }
    }
    return flop
  }
}

/// A pointer handed to the concurrent row ranges of `ParallelRows` (each writes disjoint rows).
struct UnsafeMutableSendablePointer<T>: @unchecked Sendable {
  let pointer: UnsafeMutablePointer<T>
  init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
