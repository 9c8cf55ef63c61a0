/// Adds a `Conv2d` layer's contribution to an eNTK tile from its factors (`ConvolutionFactors`),
/// without forming its explicit Jacobian rows (Novak, Sohl-Dickstein & Schoenholz, ICML 2022):
///
///     G[x·m + a, y·m + b] += Σ_g Σ_{o ∈ g} Σ_{s,t} δ_xa[o,s] · (U_x,g U_y,gᵀ + β)[s,t] · δ_yb[o,t]
///
/// (s, t output positions, U the im2col patches `[L, K_g]`, β = 1 with a bias — the bias column's
/// `(Σ_s δ_xa[o,s])(Σ_t δ_yb[o,t])` — else 0). Per row sample x and group g, three GEMMs:
/// - `M = U_x,gᵀ-block × U_J,g` `[L, n_y·L]` (the patch Gram with every column sample y at once,
///   `2·L²·K_g` FLOP per pair), plus β;
/// - per column sample y: `T = δ_x,g M_xy` `[m·out_g, L]` (`2·m·out_g·L²`), then
///   `G_xy += T δ_y,gᵀ` `[m, m]` over `out_g·L` (`2·m²·out_g·L`).
/// On a diagonal tile only pairs y ≥ x are computed (the tile's lower triangle is mirrored later by
/// `TileKernel.finish`). Column samples are taken in chunks so that M stays ≤ 4 Mi scalars.
/// Deterministic: the same factors give the same BLAS calls with the same sizes, in the same order.
/// FLOP model and when this is chosen: `ContractionChoice`.
public enum StructuredConvContraction {
  /// Scalars of M per chunk at most.
  static let gramLimit = 1 << 22

  /// Adds the layer's `J_I J_Jᵀ` to `output` `[R_I, R_J]` (row-major), upper triangle (at least)
  /// when `isDiagonal`. Returns the FLOP done.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  @discardableResult
  public static func accumulate<T: BLASScalar>(
    _ a: ConvolutionFactors<T>, _ b: ConvolutionFactors<T>, outputCount m: Int, isDiagonal: Bool,
    into output: UnsafeMutablePointer<T>
  ) -> Double {
    precondition(a.outputs == b.outputs && a.groups == b.groups && a.groupPatch == b.groupPatch
                   && a.positions == b.positions && a.hasBias == b.hasBias, "convolution factors of different layers")
    let nI = a.samples, nJ = b.samples, RJ = b.rows
    let L = a.positions, Kg = a.groupPatch, outG = a.groupOutputs
    let ldI = nI * L, ldJ = nJ * L
    let chunk = max(1, min(nJ, gramLimit / max(1, L * L)))
    var gram = [T](repeating: 0, count: L * chunk * L)
    var t = [T](repeating: 0, count: m * outG * L)
    var flop = 0.0
    a.patches.withUnsafeBufferPointer { uI in
      b.patches.withUnsafeBufferPointer { uJ in
        a.delta.withUnsafeBufferPointer { dI in
          b.delta.withUnsafeBufferPointer { dJ in
            gram.withUnsafeMutableBufferPointer { gramBuffer in
              t.withUnsafeMutableBufferPointer { tBuffer in
                let M = gramBuffer.baseAddress!, T_ = tBuffer.baseAddress!
                for x in 0..<nI {
                  var y0 = isDiagonal ? x : 0
                  while y0 < nJ {
                    let ny = min(chunk, nJ - y0)
                    for grp in 0..<a.groups {
                      T.gemm(
                        transposeA: true, transposeB: false, m: L, n: ny * L, k: Kg, alpha: 1,
                        a: uI.baseAddress! + grp * Kg * ldI + x * L, lda: ldI,
                        b: uJ.baseAddress! + grp * Kg * ldJ + y0 * L, ldb: ldJ,
                        beta: 0, c: M, ldc: ny * L)
                      if a.hasBias {
                        for i in 0..<(L * ny * L) { M[i] += 1 }
                      }
                      let deltaX = dI.baseAddress! + (grp * a.rows + x * m) * outG * L
                      for y in y0..<(y0 + ny) {
                        T.gemm(
                          transposeA: false, transposeB: false, m: m * outG, n: L, k: L, alpha: 1,
                          a: deltaX, lda: L, b: M + (y - y0) * L, ldb: ny * L, beta: 0, c: T_, ldc: L)
                        T.gemm(
                          transposeA: false, transposeB: true, m: m, n: m, k: outG * L, alpha: 1,
                          a: T_, lda: outG * L, b: dJ.baseAddress! + (grp * b.rows + y * m) * outG * L, ldb: outG * L,
                          beta: 1, c: output + x * m * RJ + y * m, ldc: RJ)
                      }
                      let pairs = Double(ny)
                      flop += pairs * (2 * Double(L * L * Kg) + 2 * Double(m * outG * L * L) + 2 * Double(m * m * outG * L))
                    }
                    y0 += ny
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
