/// Which kernel a run computes (`ntk.kernel`), from the Jacobians J(x) `[m, P]` (m = 10) and the
/// full eNTK `G[i·m + a, j·m + b] = s · J(x_i)[a] · J(x_j)[b]`:
///
/// | kernel | value | assembled shape | tiles |
/// | --- | --- | --- | --- |
/// | `full` (default) | G | `(n·m, n·m)` | upper block triangle, `[n_I·m, n_J·m]` |
/// | `trace` | `T[i, j] = Σ_a G[i·m + a, j·m + a]` | `(n, n)` | upper block triangle, `[n_I, n_J]` |
/// | `pseudo` | `P[i, j] = (1/m) Σ_{a,b} G[i·m + a, j·m + b]` | `(n, n)` | upper block triangle, `[n_I, n_J]` |
/// | `diagonal` | the blocks `k(x_i, x_i) = G[i·m ..< i·m + m, i·m ..< i·m + m]` | `(n, m, m)` | one per block, `[n_I, m, m]` |
///
/// `pseudo` is the eNTK of `f̄ = Σ_a f_a/√m` (Mohamadi, Bae & Sutherland, "A fast, well-founded
/// approximation to the empirical neural tangent kernel", ICML 2023), computed with one reverse
/// pass per sample instead of m.
public enum KernelVariant: String, Codable, CaseIterable, Sendable {
  case full, trace, pseudo, diagonal

  /// Values per sample on each side of a tile (and of the assembled matrix): m for `full` and
  /// `diagonal`, 1 for `trace` and `pseudo`.
  public func valuesPerSample(outputs m: Int) -> Int {
    self == .trace || self == .pseudo ? 1 : m
  }

  /// Shape of the assembled matrix of n row and n_c column samples (n_c = n for the square eNTK)
  /// with m outputs each: `[n·m, n_c·m]` (full), `[n, n_c]` (trace, pseudo), `[n, m, m]`
  /// (diagonal; never cross).
  public func assembledShape(samples n: Int, columnSamples nc: Int, outputs m: Int) -> [Int] {
    switch self {
    case .full: return [n * m, nc * m]
    case .trace, .pseudo: return [n, nc]
    case .diagonal: return [n, m, m]
    }
  }

  /// Raw bytes of tile (I, J) of `rows` × `columns` samples: `n_I·m · n_J·m`, `n_I · n_J` (trace,
  /// pseudo) or `n_I · m · m` (diagonal) values of `scalarBytes` each.
  public func tileByteCount(rows nI: Int, columns nJ: Int, outputs m: Int, scalarBytes: Int) -> Int {
    switch self {
    case .full: return nI * m * nJ * m * scalarBytes
    case .trace, .pseudo: return nI * nJ * scalarBytes
    case .diagonal: return nI * m * m * scalarBytes
    }
  }

  /// Values per row of a tile's row-major bytes: `n_J·m` (full), `n_J` (trace, pseudo), m (diagonal:
  /// `[n_I·m, m]`, the blocks one below the other).
  public func tileColumnCount(columns nJ: Int, outputs m: Int) -> Int {
    switch self {
    case .full: return nJ * m
    case .trace, .pseudo: return nJ
    case .diagonal: return m
    }
  }
}
