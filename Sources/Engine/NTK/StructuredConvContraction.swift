/// Adds a `Conv2d` layer's contribution to an eNTK tile from its factors (`ConvolutionFactors`),
/// without forming its explicit Jacobian rows (Novak, Sohl-Dickstein & Schoenholz, ICML 2022):
///
///     G[x·m + a, y·m + b] += Σ_g Σ_{o ∈ g} Σ_{s,t} δ_xa[o,s] · (U_x,g U_y,gᵀ + β)[s,t] · δ_yb[o,t]
///
/// (s, t output positions, U the im2col patches `[L, K_g]`, β = 1 with a bias — the bias column's
/// `(Σ_s δ_xa[o,s])(Σ_t δ_yb[o,t])` — else 0). Per row sample x (the row samples split over the
/// cores by `ParallelRows`, single-threaded BLAS; each x writes only its own m rows of G), per group
/// and chunk of c column samples y:
/// 1. the patch Gram `M = U_xᵀ U_chunk + β` `[L, c·L]`, one GEMM of depth K_g (`2·L²·K_g` FLOP per pair)
///    — or, where the factors hold the inputs (`PatchGram`: stride 1, one group), the input Gram
///    `X_xᵀ X_chunk` `[H·W, c·H·W]`, one GEMM of depth C_in, and its k² shifted sums;
/// 2. per y of the chunk, `Z = δ_x M_xy` `[m·out_g, L]` (`2·m·out_g·L²` per pair), read as
///    `[m, out_g·L]` (row a holds `(o, t)`), and at once, while Z is in cache,
///    `G[x·m + a, y·m + b] += Σ_(o,t) Z[a, (o,t)] δ_y[b, (o,t)]`, a GEMM `[m, out_g·L] × [out_g·L, m]`
///    (`2·m²·out_g·L` per pair).
/// Nothing of size `t²` is materialised: per core one Gram chunk (`L·c·L ≤ gramLimit` scalars, and
/// the input Gram's `H·W·c·H·W`) and one Z (`m·out_g·L`). On a diagonal tile row x meets only y ≥ x (the lower triangle is then
/// overwritten by `TileKernel.finish`'s mirror), and rows x and n − 1 − x go to the same core so
/// that the cores get equal shares. Deterministic: each block (x, y) is computed by the same BLAS
/// calls with the same sizes whatever the split over the cores.
/// FLOP model and when this is chosen: `ContractionChoice`.
public enum StructuredConvContraction {
  /// Scalars of the patch Gram M per chunk at most.
  static let gramLimit = 1 << 22

  /// Column samples per chunk of the patch Gram: `M` `[L, c·L]` (and the input Gram `[H·W, c·H·W]`
  /// of a `PatchGram`) stays within `gramLimit` scalars.
  static func chunk(positions L: Int, patchGram: PatchGram?, columnSamples nJ: Int) -> Int {
    let side = max(L, patchGram?.inputPositions ?? 0)
    return max(1, min(nJ, gramLimit / max(1, side * side)))
  }

  /// Scalars of scratch one core holds: a Gram chunk (with the input Gram of a `PatchGram`) and
  /// one Z. Two cores hold twice this.
  static func scratchScalars(positions L: Int, patchGram: PatchGram?, groupOutputs outG: Int, outputsPerSample m: Int,
                             columnSamples nJ: Int) -> Int {
    let c = chunk(positions: L, patchGram: patchGram, columnSamples: nJ)
    let HW = patchGram?.inputPositions ?? 0
    return L * c * L + HW * c * HW + m * outG * L
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
    var flop = 0.0
    for x in 0..<nI { flop += Double(isDiagonal ? nJ - x : nJ) * pairFLOP }
    let width = outG * L  // one cotangent row of a group, [out_g, L] read as out_g·L scalars
    let output = UnsafeMutableSendablePointer(output)
    a.patchesOrInputs.withUnsafeBufferPointer { uI in
      b.patchesOrInputs.withUnsafeBufferPointer { uJ in
        a.delta.withUnsafeBufferPointer { dI in
          b.delta.withUnsafeBufferPointer { dJ in
            // On a diagonal tile the unit p is the rows p and nI − 1 − p (equal work per unit).
            let units = isDiagonal ? (nI + 1) / 2 : nI
            ParallelRows.forEach(units) { range in
              // Every element read is written first (GEMMs with β = 0, then the bias).
              // One scratch: M [L, chunk·L], then (patch-Gram layers) the input Gram [HW, chunk·HW].
              let scratchCount = L * chunk * L + HW * chunk * HW
              var scratch = [T](unsafeUninitializedCapacity: scratchCount) { _, n in n = scratchCount }
              var z = [T](unsafeUninitializedCapacity: m * width) { _, n in n = m * width }
              scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                z.withUnsafeMutableBufferPointer { zBuffer in
                  let M = scratchBuffer.baseAddress!, Z = zBuffer.baseAddress!
                  let G = M + L * chunk * L
                  func row(_ x: Int) {
                    for grp in 0..<a.groups {
                      let deltaX = dI.baseAddress! + (grp * a.rows + x * m) * width
                      var y0 = isDiagonal ? x : 0
                      while y0 < nJ {
                        let ny = min(chunk, nJ - y0)
                        if let patchGram {
                          // 1. M = Σ shifted (X_xᵀ X_chunk) (+1) [L, ny·L] (one group).
                          T.gemm(
                            transposeA: true, transposeB: false, m: HW, n: ny * HW, k: channels, alpha: 1,
                            a: uI.baseAddress! + x * HW, lda: nI * HW, b: uJ.baseAddress! + y0 * HW, ldb: nJ * HW,
                            beta: 0, c: G, ldc: ny * HW)
                          M.update(repeating: a.hasBias ? 1 : 0, count: L * ny * L)
                          patchGram.addShiftedSums(gram: G, samples: ny, into: M)
                        } else {
                          // 1. M = U_xᵀ U_chunk (+1) [L, ny·L].
                          T.gemm(
                            transposeA: true, transposeB: false, m: L, n: ny * L, k: Kg, alpha: 1,
                            a: uI.baseAddress! + grp * Kg * ldI + x * L, lda: ldI,
                            b: uJ.baseAddress! + grp * Kg * ldJ + y0 * L, ldb: ldJ,
                            beta: 0, c: M, ldc: ny * L)
                          if a.hasBias {
                            for i in 0..<(L * ny * L) { M[i] += 1 }
                          }
                        }
                        for y in y0..<(y0 + ny) {
                          // 2. Z = δ_x M_xy [m·out_g, L], then G[x, y] += Z δ_yᵀ over (o, t).
                          T.gemm(
                            transposeA: false, transposeB: false, m: m * outG, n: L, k: L, alpha: 1,
                            a: deltaX, lda: L, b: M + (y - y0) * L, ldb: ny * L,
                            beta: 0, c: Z, ldc: L)
                          T.gemm(
                            transposeA: false, transposeB: true, m: m, n: m, k: width, alpha: 1,
                            a: Z, lda: width, b: dJ.baseAddress! + (grp * b.rows + y * m) * width, ldb: width,
                            beta: 1, c: output.pointer + x * m * RJ + y * m, ldc: RJ)
                        }
                        y0 += ny
                      }
                    }
                  }
                  for unit in range {
                    row(unit)
                    if isDiagonal && nI - 1 - unit != unit { row(nI - 1 - unit) }
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
