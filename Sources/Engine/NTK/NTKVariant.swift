/// Which kernel a `TileSource` computes from the Jacobians `J(x)` `[m, P]` (m = 10 outputs), with
/// `G[i·m + a, j·m + b] = s · J(x_i)[a] · J(x_j)[b]` the full eNTK (`ntk.kernel` in the manifest).
///
/// | variant | tile (I, J) | value |
/// | --- | --- | --- |
/// | `full` | `[n_I·m, n_J·m]` | `G[i·m + a, j·m + b]` |
/// | `trace` | `[n_I, n_J]` | `Σ_a G[i·m + a, j·m + a]` |
/// | `pseudo` | `[n_I, n_J]` | `(1/m) Σ_{a,b} G[i·m + a, j·m + b]` |
/// | `diagonal` | `[n_I, m, m]` (I = J only) | `G[i·m + a, i·m + b]`, the block k(x_i, x_i) |
///
/// `pseudo` is the eNTK of `f̄ = Σ_a f_a / √m` (Mohamadi, Bae & Sutherland, "A fast,
/// well-founded approximation to the empirical neural tangent kernel", ICML 2023): its Jacobian is
/// one row per sample, from ONE reverse pass seeded with the cotangent `(1/√m)·(1, …, 1)`, instead
/// of m; the tile is then the ordinary contraction with one output per sample. `trace` needs the
/// full Jacobian but contracts only the m matching class pairs per sample pair (m one-output
/// contractions instead of an m × m block); `diagonal` contracts only each sample with itself.
public enum NTKVariant: String, Equatable, Sendable, CaseIterable {
  case full, trace, pseudo, diagonal

  /// Outputs per sample of the Jacobian rows a block holds: 1 for `pseudo` (the one row of f̄),
  /// m otherwise.
  public func jacobianOutputs(outputs m: Int) -> Int { self == .pseudo ? 1 : m }

  /// Outputs per sample of each one-output-or-more contraction: 1 for `trace` (m of them) and
  /// `pseudo` (one), m for `full` and `diagonal`. The per-layer `ContractionChoice` is made for it.
  public func contractionOutputs(outputs m: Int) -> Int { self == .full || self == .diagonal ? m : 1 }

  /// Scalars of tile (I, J) of `rows` × `columns` samples.
  public func tileScalarCount(rows nI: Int, columns nJ: Int, outputs m: Int) -> Int {
    switch self {
    case .full: return nI * m * nJ * m
    case .trace, .pseudo: return nI * nJ
    case .diagonal: return nI * m * m
    }
  }
}
