/// Adds a `Conv2d` layer's contribution to an eNTK tile from its factors (`ConvolutionFactors`),
/// without forming its explicit Jacobian rows (Novak, Sohl-Dickstein & Schoenholz, ICML 2022):
///
///     G[x·m + a, y·m + b] += Σ_g Σ_{o ∈ g} Σ_{s,t} δ_xa[o,s] · (U_x,g U_y,gᵀ + β)[s,t] · δ_yb[o,t]
///
/// (s, t output positions, U the im2col patches `[L, K_g]`, β = 1 with a bias — the bias column's
/// `(Σ_s δ_xa[o,s])(Σ_t δ_yb[o,t])` — else 0). Per group and chunk of c column samples y:
/// - per row sample x (split over the cores by `ParallelRows`, single-threaded BLAS; each x writes
///   only its own blocks): the patch Gram `M = U_xᵀ U_chunk` `[L, c·L]` (`2·L²·K_g` FLOP per pair)
///   plus β, then `δ_x M` `[m·out_g, c·L]` (`2·m·out_g·L²` per pair), scattered as `T[y][x]`;
/// - per y (split over the cores, single-threaded BLAS; each y writes its own m columns), one GEMM
///   `G[:, y] += T[y] δ_yᵀ`, `[n_I·m, out_g·L] × [out_g·L, m]` (`2·m²·out_g·L` per pair).
/// c keeps M ≤ 4 Mi and T ≤ 8 Mi scalars. On a diagonal tile only rows x < y₀ + c are computed per
/// chunk; pairs with x > y land in the lower triangle, which `TileKernel.finish` overwrites with the
/// mirrored upper one. Deterministic: the same factors give the same BLAS calls with the same sizes,
/// whatever the split over the cores.
/// FLOP model and when this is chosen: `ContractionChoice`.
public enum StructuredConvContraction {
  /// Scalars of M per chunk at most, and of the products T of a chunk.
  static let gramLimit = 1 << 22
  static let productLimit = 1 << 23

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
                   && a.positions == b.positions && a.hasBias == b.hasBias, "convolution factors of different layers")
    let nI = a.samples, nJ = b.samples, RJ = b.rows
    let L = a.positions, Kg = a.groupPatch, outG = a.groupOutputs
    let ldI = nI * L, ldJ = nJ * L
    // Column samples per chunk: the Gram M_x [L, c·L] and the products T [c][n_I·m·out_g·L] stay bounded.
    let chunk = max(1, min(nJ, gramLimit / max(1, L * L), productLimit / max(1, nI * m * outG * L)))
    var flop = 0.0
    for x in 0..<nI {
      let pairs = Double(isDiagonal ? nJ - x : nJ)
      flop += Double(a.groups) * pairs * (2 * Double(L * L * Kg) + 2 * Double(m * outG * L * L) + 2 * Double(m * m * outG * L))
    }
    let rowStride = m * outG * L  // one row sample's T block
    var products = [T](repeating: 0, count: chunk * nI * rowStride)
    let output = UnsafeMutableSendablePointer(output)
    a.patches.withUnsafeBufferPointer { uI in
      b.patches.withUnsafeBufferPointer { uJ in
        a.delta.withUnsafeBufferPointer { dI in
          b.delta.withUnsafeBufferPointer { dJ in
            products.withUnsafeMutableBufferPointer { productBuffer in
              let big = UnsafeMutableSendablePointer(productBuffer.baseAddress!)
              for grp in 0..<a.groups {
                var y0 = 0
                while y0 < nJ {
                  let ny = min(chunk, nJ - y0)
                  // On a diagonal tile only x < y0 + ny meet a column sample y ≥ x of this chunk
                  // (pairs x > y computed here land in the lower triangle, overwritten by the mirror).
                  let rowsNeeded = isDiagonal ? min(nI, y0 + ny) : nI
                  // 1. Per row sample x (split over the cores; each x writes its own T blocks):
                  //    M = U_xᵀ U_chunk (+1), Tmp = δ_x M [m·out_g, ny·L], scattered to T[y][x].
                  ParallelRows.forEach(rowsNeeded) { range in
                    var gram = [T](repeating: 0, count: L * ny * L)
                    var tmp = [T](repeating: 0, count: m * outG * ny * L)
                    gram.withUnsafeMutableBufferPointer { gramBuffer in
                      tmp.withUnsafeMutableBufferPointer { tmpBuffer in
                        let M = gramBuffer.baseAddress!, P = tmpBuffer.baseAddress!
                        for x in range {
                          T.gemm(
                            transposeA: true, transposeB: false, m: L, n: ny * L, k: Kg, alpha: 1,
                            a: uI.baseAddress! + grp * Kg * ldI + x * L, lda: ldI,
                            b: uJ.baseAddress! + grp * Kg * ldJ + y0 * L, ldb: ldJ,
                            beta: 0, c: M, ldc: ny * L)
                          if a.hasBias {
                            for i in 0..<(L * ny * L) { M[i] += 1 }
                          }
                          T.gemm(
                            transposeA: false, transposeB: false, m: m * outG, n: ny * L, k: L, alpha: 1,
                            a: dI.baseAddress! + (grp * a.rows + x * m) * outG * L, lda: L, b: M, ldb: ny * L,
                            beta: 0, c: P, ldc: ny * L)
                          for y in 0..<ny {
                            let target = big.pointer + (y * nI + x) * rowStride
                            for row in 0..<(m * outG) {
                              (target + row * L).update(from: P + row * ny * L + y * L, count: L)
                            }
                          }
                        }
                      }
                    }
                  }
                  // 2. Per column sample y: G[x·m + a, y·m + b] += Σ_(o,t) T[y][x][a, (o,t)] δ_y[b, (o,t)],
                  //    one GEMM [rows·m, out_g·L] × [out_g·L, m]; the column samples split over the
                  //    cores (single-threaded BLAS: an m-column product is too narrow for OpenBLAS's
                  //    threads; each y writes its own m columns of G).
                  ParallelRows.forEach(ny) { ys in
                    for y in ys {
                      T.gemm(
                        transposeA: false, transposeB: true, m: rowsNeeded * m, n: m, k: outG * L, alpha: 1,
                        a: big.pointer + y * nI * rowStride, lda: outG * L,
                        b: dJ.baseAddress! + (grp * b.rows + (y0 + y) * m) * outG * L, ldb: outG * L,
                        beta: 1, c: output.pointer + (y0 + y) * m, ldc: RJ)
                    }
                  }
                  y0 += ny
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
