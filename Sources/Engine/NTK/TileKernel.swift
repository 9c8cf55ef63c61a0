/// The eNTK tile kernel: `G_IJ = s · J_I J_Jᵀ`, `[n_I·m, n_J·m]` row-major, from two Jacobian blocks.
///
/// `G[i·m + a, j·m + b] = s · Σ_p J(x_i)[a, p] · J(x_j)[b, p]` (see ntk.md), summed layer by layer
/// over the blocks' parts in parameter order:
/// - explicit part `[R, P_l]`: one GEMM `J_I,l J_J,lᵀ` (`2·R_I·R_J·P_l` FLOP), or on a diagonal tile one
///   SYRK of the upper triangle (`R²·P_l` FLOP);
/// - `Linear(in, out)` part, structured (Novak, Sohl-Dickstein & Schoenholz, "Fast Finite Width
///   Neural Tangent Kernel", ICML 2022): the block of rows r (sample s = r/m) and r′ (sample s′) is
///   `(δ_I[r]·δ_J[r′]) · (h_I[s]·h_J[s′] + 1)` (the `+1` is the bias column), from two GEMMs
///   `D = δ_I δ_Jᵀ` (`2·R_I·R_J·out` FLOP) and `H = h_I h_Jᵀ` (`2·n_I·n_J·in` FLOP) and an
///   elementwise combine (`2·R_I·R_J` FLOP), instead of `2·R_I·R_J·out·(in+1)` FLOP explicitly.
///
/// - `Conv2d` part, structured (`ConvolutionFactors`): `StructuredConvContraction`, three GEMMs per
///   sample pair through the `[L, L]` patch Gram instead of `2·R_I·R_J·P_l` FLOP explicitly.
/// Which layers are structured is decided per layer by `ContractionChoice` (FLOP model).
///
/// Example, LeNet (P = 62,006) with 100-sample tiles (R = 1,000): conv1/conv2 explicit
/// (P_l = 456 + 2,416) cost 5.7 GFLOP per off-diagonal tile, the three Linear layers
/// 2·10⁶·(120+84+10) + 2·10⁴·(400+120+84) ≈ 0.44 GFLOP, against 124 GFLOP for a dense `J_I J_Jᵀ`.
///
/// Deterministic: the same blocks give byte-identical tiles (fixed summation order: parts in
/// parameter order, the same BLAS calls with the same sizes; OpenBLAS partitions a GEMM the same
/// way for the same sizes and thread count — keep `OPENBLAS_NUM_THREADS` fixed across the sessions of
/// a run if tiles are compared byte for byte). A diagonal tile is computed on its upper triangle and
/// mirrored, so it is exactly symmetric.
public enum TileKernel {
  /// The tile `G_IJ = scale · J_I J_Jᵀ`, `[rows.rowCount, columns.rowCount]` row-major.
  ///
  /// - Parameters:
  ///   - rows: Jacobian block of row block I.
  ///   - columns: Jacobian block of column block J (the same block as `rows` when `isDiagonal`).
  ///   - isDiagonal: I == J: computes the upper triangle with SYRK and mirrors it.
  ///   - scale: 1 (normalization "none") or 1/√P ("sqrt-params").
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public static func tile<T: BLASScalar>(
    rows: JacobianBlock<T>, columns: JacobianBlock<T>, isDiagonal: Bool, scale: T
  ) -> [T] {
    var result = [T](repeating: 0, count: rows.rowCount * columns.rowCount)
    result.withUnsafeMutableBufferPointer { out in
      tile(rows: rows, columns: columns, isDiagonal: isDiagonal, scale: scale, into: out)
    }
    return result
  }

  /// As `tile(rows:columns:isDiagonal:scale:)`, writing into `output` (`rows.rowCount·columns.rowCount`
  /// scalars, overwritten).
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public static func tile<T: BLASScalar>(
    rows: JacobianBlock<T>, columns: JacobianBlock<T>, isDiagonal: Bool, scale: T,
    into output: UnsafeMutableBufferPointer<T>
  ) {
    let RI = rows.rowCount, RJ = columns.rowCount
    precondition(output.count == RI * RJ, "tile buffer of \(output.count) for [\(RI), \(RJ)]")
    precondition(rows.parts.count == columns.parts.count, "Jacobian blocks of different models")
    precondition(rows.outputsPerSample == columns.outputsPerSample)
    var scratch = Scratch<T>()
    start(output, rows: RI, columns: RJ, isDiagonal: isDiagonal)
    for (a, b) in zip(rows.parts, columns.parts) {
      accumulate(a, b, rowSamples: rows.sampleCount, columnSamples: columns.sampleCount, outputsPerSample: rows.outputsPerSample,
                 isDiagonal: isDiagonal, scratch: &scratch, into: output)
    }
    finish(output, rows: RI, isDiagonal: isDiagonal, scale: scale)
  }

  /// Reusable buffers of the structured `Linear` contraction (`D = δ_I δ_Jᵀ` `[R_I, R_J]` and
  /// `H = h_I h_Jᵀ` `[n_I, n_J]`), allocated on first use and kept for the tile's other layers.
  public struct Scratch<T: BLASScalar> {
    var deltaProducts: [T] = []
    var inputProducts: [T] = []
    public init() {}
  }

  /// Zeroes the tile buffer `[rows, columns]` before the first `accumulate` — on a diagonal tile
  /// only its upper triangle (the lower one is never read before `finish` overwrites it with the
  /// mirror) — row ranges split over the cores (a fresh buffer's page faults too: a serial fill of
  /// LeNet's 16 MB tile at t = 200 was a tenth of its contraction).
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public static func start<T: BLASScalar>(
    _ output: UnsafeMutableBufferPointer<T>, rows RI: Int, columns RJ: Int, isDiagonal: Bool
  ) {
    precondition(output.count == RI * RJ, "tile buffer of \(output.count) for [\(RI), \(RJ)]")
    precondition(!isDiagonal || RI == RJ, "diagonal tile must be square")
    let g = output.baseAddress!
    if isDiagonal {
      forEachBalancedRow(RI, scalars: RI * RJ) { r in (g + r * RJ + r).update(repeating: 0, count: RJ - r) }
    } else {
      ParallelRows.forEach(RI, scalars: RI * RJ) { rows in
        (g + rows.lowerBound * RJ).update(repeating: 0, count: rows.count * RJ)
      }
    }
  }

  /// Calls `body` for every row `0 ..< n` of a triangle, rows r and n − 1 − r on the same core so
  /// that the cores get equal shares (`ParallelRows` over the pairs).
  @inline(__always)
  static func forEachBalancedRow(_ n: Int, scalars: Int, _ body: (Int) -> Void) {
    ParallelRows.forEach((n + 1) / 2, scalars: scalars) { pairs in
      for p in pairs {
        body(p)
        if n - 1 - p != p { body(n - 1 - p) }
      }
    }
  }

  /// Adds one layer's contribution `J_I,l J_J,lᵀ` to the tile `g` `[R_I, R_J]` (on a diagonal tile
  /// only its upper triangle). Layers must be accumulated in parameter order between `start` and
  /// `finish`: the same calls in the same order give byte-identical tiles, whether the parts come
  /// from whole Jacobian blocks or are streamed one layer at a time.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public static func accumulate<T: BLASScalar>(
    _ a: JacobianPart<T>, _ b: JacobianPart<T>, rowSamples nI: Int, columnSamples nJ: Int, outputsPerSample m: Int,
    isDiagonal: Bool, scratch: inout Scratch<T>, into output: UnsafeMutableBufferPointer<T>
  ) {
    let RI = nI * m, RJ = nJ * m
    precondition(output.count == RI * RJ, "tile buffer of \(output.count) for [\(RI), \(RJ)]")
    let g = output.baseAddress!
    switch (a, b) {
    case (.explicit(let width, let ja), .explicit(let widthB, let jb)):
      precondition(width == widthB, "part widths differ")
      product(ja, jb, rows: RI, columns: RJ, depth: width, symmetric: isDiagonal, beta: 1, into: g)
    case (.linear(let out, let inp, let bias, let dI, let hI), .linear(let outB, let inpB, _, let dJ, let hJ)):
      precondition(out == outB && inp == inpB, "Linear part shapes differ")
      if scratch.deltaProducts.count != RI * RJ {
        // Overwritten by the products below (β = 0; on a diagonal tile only the upper triangles,
        // the only part `combine` reads): no zero fill.
        scratch.deltaProducts = [T](unsafeUninitializedCapacity: RI * RJ) { _, n in n = RI * RJ }
        scratch.inputProducts = [T](unsafeUninitializedCapacity: nI * nJ) { _, n in n = nI * nJ }
      }
      scratch.deltaProducts.withUnsafeMutableBufferPointer { D in
        scratch.inputProducts.withUnsafeMutableBufferPointer { H in
          product(dI, dJ, rows: RI, columns: RJ, depth: out, symmetric: isDiagonal, beta: 0, into: D.baseAddress!)
          product(hI, hJ, rows: nI, columns: nJ, depth: inp, symmetric: isDiagonal, beta: 0, into: H.baseAddress!)
          combine(D.baseAddress!, H.baseAddress!, bias: bias ? 1 : 0, rows: RI, columns: RJ, m: m, nJ: nJ,
                  upperOnly: isDiagonal, into: g)
        }
      }
    case (.convolution(let fa), .convolution(let fb)):
      StructuredConvContraction.accumulate(fa, fb, outputsPerSample: m, isDiagonal: isDiagonal, into: g)
    default:
      // Mixed representations of one layer: materialise both sides.
      let xa = a.explicitRows(rowCount: RI, repeats: m)
      let xb = b.explicitRows(rowCount: RJ, repeats: m)
      xa.withUnsafeBufferPointer { x in
        xb.withUnsafeBufferPointer { y in
          T.gemm(
            transposeA: false, transposeB: true, m: RI, n: RJ, k: a.columns, alpha: 1,
            a: x.baseAddress!, lda: a.columns, b: y.baseAddress!, ldb: a.columns, beta: 1, c: g, ldc: RJ)
        }
      }
    }
  }

  /// Completes a tile after its last `accumulate`: multiplies by `scale` and mirrors a diagonal
  /// tile's upper triangle.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public static func finish<T: BLASScalar>(
    _ output: UnsafeMutableBufferPointer<T>, rows RI: Int, isDiagonal: Bool, scale: T
  ) {
    let g = output.baseAddress!
    if isDiagonal {
      // Scaled on the upper triangle, then mirrored: the lower triangle gets the same products.
      if scale != 1 {
        forEachBalancedRow(RI, scalars: output.count) { r in
          T.scale(g + r * RI + r, by: scale, count: RI - r)
        }
      }
      mirrorUpper(g, n: RI)
    } else if scale != 1 {
      let columns = output.count / max(1, RI)
      ParallelRows.forEach(RI, scalars: output.count) { rows in
        T.scale(g + rows.lowerBound * columns, by: scale, count: rows.count * columns)
      }
    }
  }

  /// `C = A Bᵀ + β·C` for row-major `A` `[rows, depth]`, `B` `[columns, depth]` (GEMM), or, when
  /// `symmetric` (A is B), only the upper triangle of `C = A Aᵀ + β·C` (SYRK); C has `columns`
  /// columns (β = 1 accumulates into a tile, β = 0 overwrites).
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  private static func product<T: BLASScalar>(
    _ a: [T], _ b: [T], rows: Int, columns: Int, depth: Int, symmetric: Bool, beta: T, into c: UnsafeMutablePointer<T>
  ) {
    a.withUnsafeBufferPointer { x in
      if symmetric {
        T.syrkUpper(n: rows, k: depth, alpha: 1, a: x.baseAddress!, lda: depth, beta: beta, c: c, ldc: columns)
      } else {
        b.withUnsafeBufferPointer { y in
          T.gemm(
            transposeA: false, transposeB: true, m: rows, n: columns, k: depth, alpha: 1,
            a: x.baseAddress!, lda: depth, b: y.baseAddress!, ldb: depth, beta: beta, c: c, ldc: columns)
        }
      }
    }
  }

  /// `G[r, c] += D[r, c] · (H[r/m, c/m] + bias)` over the tile (or its upper triangle).
  /// The m rows of one row sample share the row `F[c] = H[r/m, c/m] + bias`, expanded once per
  /// row sample (one buffer of `columns` scalars per core), so that each row is one contiguous,
  /// vectorised multiply-add (a loop of m = 10 per column sample was half of LeNet's Linear parts).
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  private static func combine<T: BLASScalar>(
    _ D: UnsafePointer<T>, _ H: UnsafePointer<T>, bias: T, rows: Int, columns: Int, m: Int, nJ: Int,
    upperOnly: Bool, into g: UnsafeMutablePointer<T>
  ) {
    // Row samples split over the cores (each element is computed the same way whatever the split);
    // on the upper triangle samples x and n − 1 − x go together so that the cores get equal shares.
    let samples = rows / m
    ParallelRows.forEach(upperOnly ? (samples + 1) / 2 : samples, scalars: rows * columns) { range in
      var factors = [T](unsafeUninitializedCapacity: columns) { _, n in n = columns }
      factors.withUnsafeMutableBufferPointer { f in
        func combineSample(_ x: Int) {
          let hRow = H + x * nJ
          for s in (upperOnly ? x : 0)..<nJ {
            let factor = hRow[s] + bias
            for c in (s * m)..<min((s + 1) * m, columns) { f[c] = factor }
          }
          for r in (x * m)..<((x + 1) * m) {
            let dRow = D + r * columns, gRow = g + r * columns
            for c in (upperOnly ? r : 0)..<columns { gRow[c] += dRow[c] * f[c] }
          }
        }
        for p in range {
          combineSample(p)
          if upperOnly && samples - 1 - p != p { combineSample(samples - 1 - p) }
        }
      }
    }
  }

  /// Copies the upper triangle of the square `[n, n]` matrix onto its lower triangle, in 32 × 32
  /// blocks (a block's 32 source rows and 32 target rows stay in the L1 cache; the row-by-row
  /// transpose read one cache line per element).
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  private static func mirrorUpper<T: BLASScalar>(_ g: UnsafeMutablePointer<T>, n: Int) {
    let b = 32
    let blockRows = (n + b - 1) / b
    // Block row R writes the lower part of rows R·b ..< (R+1)·b, reading only the upper triangle.
    forEachBalancedRow(blockRows, scalars: n * n) { block in
      let r0 = block * b, r1 = min(n, r0 + b)
      for c0 in stride(from: 0, to: r1, by: b) {
        for c in c0..<min(c0 + b, r1) {
          let source = g + c * n
          for r in max(r0, c + 1)..<r1 { g[r * n + c] = source[r] }
        }
      }
    }
  }
}
