/// The Jacobian rows of one `Conv2d` layer for a block of B samples (R = B·m rows) in factored
/// form (Novak, Sohl-Dickstein & Schoenholz, ICML 2022, "structured derivatives"): row `r`
/// (sample `x = r/m`) is, per group g, `J_r[W_g] = δ_{r,g} U_{x,g}ᵀ` `[out_g, K_g]` and
/// `J_r[b_o] = Σ_s δ_r[o, s]`, with δ the backpropagated output cotangents and U the im2col
/// patches. Held instead of the `[R, P_l]` explicit rows (`R·out·L + B·C_in·k²·L` scalars against
/// `R·out·K_g`); contracted by `StructuredConvContraction`. For a convolution whose patch Gram is
/// cheaper from its inputs (`PatchGram`: stride 1, one group, k > 1) the inputs are held instead
/// of the patches (`R·out·L + B·C_in·H·W` scalars).
public struct ConvolutionFactors<T: BLASScalar> {
  /// Output channels C_out, groups g, patch length per group K_g = C_in/g·k², output positions L = H'·W'.
  public let outputs: Int
  public let groups: Int
  public let groupPatch: Int
  public let positions: Int
  public let hasBias: Bool
  /// Samples B and rows R = B·m.
  public let samples: Int
  public let rows: Int
  /// Cotangents grouped by convolution group: `[g][R][out_g·L]` (for g = 1 exactly the layer's
  /// output cotangent `[R, out, H', W']`).
  public let delta: [T]
  /// im2col patches of the whole block, `[g·K_g, B·L]` row-major: `patches[k, x·L + s]` is
  /// `col(x_x)[k, s]` (Conv2d.columns(of:)); empty with `patchGram`.
  public let patches: [T]
  /// With `patchGram`: the layer's inputs of the whole block, `[C_in, B·H·W]` row-major
  /// (`inputs[c, x·H·W + u]`), from which the patch Gram is formed; else empty.
  public let inputs: [T]
  /// How `U_x U_yᵀ` is formed from `inputs`, or `nil`: from `patches`.
  public let patchGram: PatchGram?

  /// Factors holding the patches, or with `patchGram` the inputs (`patchesOrInputs`).
  public init(outputs: Int, groups: Int, groupPatch: Int, positions: Int, hasBias: Bool, samples: Int, rows: Int,
              delta: [T], patches patchesOrInputs: [T], patchGram: PatchGram? = nil) {
    let held = patchGram.map { $0.channels * samples * $0.inputPositions } ?? groups * groupPatch * samples * positions
    precondition(delta.count == rows * outputs * positions && patchesOrInputs.count == held
                   && (patchGram == nil || groups == 1 && patchGram!.positions == positions), "convolution factors of the wrong size")
    self.outputs = outputs
    self.groups = groups
    self.groupPatch = groupPatch
    self.positions = positions
    self.hasBias = hasBias
    self.samples = samples
    self.rows = rows
    self.delta = delta
    self.patches = patchGram == nil ? patchesOrInputs : []
    self.inputs = patchGram == nil ? [] : patchesOrInputs
    self.patchGram = patchGram
  }

  /// `patches`, or with `patchGram` the ones its inputs give (`PatchGram.columns`): built, for
  /// explicit rows.
  public var im2colPatches: [T] { patchGram.map { $0.columns(of: inputs, samples: samples) } ?? patches }

  /// `patches`, or with `patchGram` `inputs`: what `init` takes.
  public var patchesOrInputs: [T] { patchGram == nil ? patches : inputs }

  public var groupOutputs: Int { outputs / groups }
  /// Jacobian columns P_l = out·K_g (+ out).
  public var columns: Int { outputs * groupPatch + (hasBias ? outputs : 0) }
  /// Scalars held.
  public var scalarCount: Int { delta.count + patches.count + inputs.count }

  /// The explicit rows `[R, P_l]` (for tests and the mixed case): one GEMM per row and group.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func explicitRows(repeats m: Int) -> [T] {
    let width = columns, L = positions, outG = groupOutputs, ld = samples * L
    var result = [T](repeating: 0, count: rows * width)
    result.withUnsafeMutableBufferPointer { j in
      delta.withUnsafeBufferPointer { d in
        im2colPatches.withUnsafeBufferPointer { u in
          for r in 0..<rows {
            let x = r / m
            for grp in 0..<groups {
              let dr = d.baseAddress! + (grp * rows + r) * outG * L
              T.gemm(
                transposeA: false, transposeB: true, m: outG, n: groupPatch, k: L, alpha: 1,
                a: dr, lda: L, b: u.baseAddress! + grp * groupPatch * ld + x * L, ldb: ld,
                beta: 0, c: j.baseAddress! + r * width + grp * outG * groupPatch, ldc: groupPatch)
              if hasBias {
                for o in 0..<outG {
                  var s: T = 0
                  for l in 0..<L { s += dr[o * L + l] }
                  j[r * width + outputs * groupPatch + grp * outG + o] = s
                }
              }
            }
          }
        }
      }
    }
    return result
  }
}
