/// The contraction of the reduced kernels (`NTKVariant`) from the same per-layer parts as the
/// full tile (`TileKernel`), layer by layer in parameter order, so tiles are deterministic in the
/// same way:
///
/// - `trace`, tile `[n_I, n_J]`: `T_IJ = Σ_a J_I,a J_J,aᵀ` with `J_·,a` the rows of class a. An
///   explicit part `[n·m, P_l]` is read in place, class a's rows being every m-th row (leading
///   dimension `m·P_l`): m GEMMs `[n_I, P_l] × [P_l, n_J]` (`2·m·n_I·n_J·P_l` FLOP, 1/m of the full
///   tile's) or SYRKs on a diagonal tile. Structured Linear and Conv2d parts are split into m
///   one-output parts (`JacobianPart.output`; inputs and patches shared) and contracted by
///   `TileKernel.accumulate` with one output per sample.
/// - `diagonal`, tile `[n_I, m, m]`: per sample s, `J_s J_sᵀ` (`[m, P_l]` rows, SYRK in place for
///   explicit parts; `JacobianPart.sample` + `TileKernel.accumulate` for structured ones).
///
/// (`pseudo` needs nothing here: its blocks hold one row per sample and go through
/// `TileKernel.accumulate` with m = 1.)
public enum VariantContraction {
  /// Adds one layer's `Σ_a J_I,a J_J,aᵀ` to the trace tile `output` `[n_I, n_J]` (upper triangle
  /// at least when `isDiagonal`). `a`, `b`: the layer's parts of the row and column blocks, `B·m`
  /// rows each. Returns the FLOP of its GEMM/SYRK calls (all, and of structured Conv2d parts).
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  @discardableResult
  public static func accumulateTrace<T: BLASScalar>(
    _ a: JacobianPart<T>, _ b: JacobianPart<T>, rowSamples nI: Int, columnSamples nJ: Int, outputsPerSample m: Int,
    isDiagonal: Bool, scratch: inout TileKernel.Scratch<T>, into output: UnsafeMutableBufferPointer<T>
  ) -> (flop: Double, structured: Double) {
    precondition(output.count == nI * nJ, "trace tile buffer of \(output.count) for [\(nI), \(nJ)]")
    let g = output.baseAddress!
    if case .explicit(let width, let ja) = a, case .explicit(let widthB, let jb) = b {
      precondition(width == widthB, "part widths differ")
      ja.withUnsafeBufferPointer { x in
        jb.withUnsafeBufferPointer { y in
          for c in 0..<m {
            if isDiagonal {
              T.syrkUpper(n: nI, k: width, alpha: 1, a: x.baseAddress! + c * width, lda: m * width, beta: 1, c: g, ldc: nJ)
            } else {
              T.gemm(transposeA: false, transposeB: true, m: nI, n: nJ, k: width, alpha: 1,
                     a: x.baseAddress! + c * width, lda: m * width, b: y.baseAddress! + c * width, ldb: m * width,
                     beta: 1, c: g, ldc: nJ)
            }
          }
        }
      }
      return (Double(m) * Double(isDiagonal ? nI * nI : 2 * nI * nJ) * Double(width), 0)
    }
    var structured = 0.0
    for c in 0..<m {
      let p = a.output(c, outputsPerSample: m, samples: nI)
      let q = isDiagonal ? p : b.output(c, outputsPerSample: m, samples: nJ)
      if case .convolution(let fp) = p, case .convolution(let fq) = q {
        structured += StructuredConvContraction.accumulate(fp, fq, outputsPerSample: 1, isDiagonal: isDiagonal, into: g)
      } else {
        TileKernel.accumulate(p, q, rowSamples: nI, columnSamples: nJ, outputsPerSample: 1, isDiagonal: isDiagonal,
                              scratch: &scratch, into: output)
      }
    }
    return (structured, structured)
  }

  /// Adds one layer's per-sample blocks `J_s J_sᵀ` (upper triangles at least) to the diagonal tile
  /// `output` `[B, m, m]`; `a` is the layer's part of the block (`B·m` rows). Returns the FLOP.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  @discardableResult
  public static func accumulateDiagonal<T: BLASScalar>(
    _ a: JacobianPart<T>, samples B: Int, outputsPerSample m: Int, scratch: inout TileKernel.Scratch<T>,
    into output: UnsafeMutableBufferPointer<T>
  ) -> (flop: Double, structured: Double) {
    precondition(output.count == B * m * m, "diagonal tile buffer of \(output.count) for [\(B), \(m), \(m)]")
    let g = output.baseAddress!
    if case .explicit(let width, let ja) = a {
      ja.withUnsafeBufferPointer { x in
        for s in 0..<B {
          T.syrkUpper(n: m, k: width, alpha: 1, a: x.baseAddress! + s * m * width, lda: width, beta: 1, c: g + s * m * m, ldc: m)
        }
      }
      return (Double(B * m * m) * Double(width), 0)
    }
    var structured = 0.0
    for s in 0..<B {
      let p = a.sample(s, outputsPerSample: m, samples: B)
      let block = UnsafeMutableBufferPointer(rebasing: output[(s * m * m)..<((s + 1) * m * m)])
      if case .convolution(let f) = p {
        structured += StructuredConvContraction.accumulate(f, f, outputsPerSample: m, isDiagonal: true, into: block.baseAddress!)
      } else {
        TileKernel.accumulate(p, p, rowSamples: 1, columnSamples: 1, outputsPerSample: m, isDiagonal: true,
                              scratch: &scratch, into: block)
      }
    }
    return (structured, structured)
  }

  /// Completes a diagonal tile `[B, m, m]`: mirrors each block's upper triangle, multiplies by `scale`.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public static func finishDiagonal<T: BLASScalar>(_ output: UnsafeMutableBufferPointer<T>, samples B: Int, outputsPerSample m: Int, scale: T) {
    for s in 0..<B {
      TileKernel.finish(UnsafeMutableBufferPointer(rebasing: output[(s * m * m)..<((s + 1) * m * m)]), rows: m,
                        isDiagonal: true, scale: scale)
    }
  }
}
