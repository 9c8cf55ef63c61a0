/// One tile of the eNTK: the block `G[I, J]` between the samples of row block I and those of
/// column block J (I ≤ J), of shape `[rows.count·m, columns.count·m]` (m = 10 outputs).
///
/// Its raw bytes are the block in row-major order, little-endian values of the run's precision:
/// the value at tile position (r, c) is `G[rows.lowerBound·m + r, columns.lowerBound·m + c]`.
public struct Tile: Hashable, Codable, Sendable {
  /// Position in the plan's ordered list (row-major over the upper triangle of blocks).
  public var index: Int
  /// Row block I.
  public var rowBlock: Int
  /// Column block J (≥ I).
  public var columnBlock: Int
  /// Sample indices of the rows, `I·t ..< min((I+1)·t, n)`.
  public var rows: Range<Int>
  /// Sample indices of the columns, `J·t ..< min((J+1)·t, n)`.
  public var columns: Range<Int>
  /// Size of the raw tile in bytes: `rows.count·m × columns.count·m × element size`.
  public var rawByteCount: Int

  /// Whether the tile lies on the diagonal (I = J); such a tile is itself symmetric.
  public var isDiagonal: Bool { rowBlock == columnBlock }

  /// Only the same-sample pairs (i, i) (the `diagonal` kernel's tiles, `[n_I, m, m]`).
  public var sameSampleOnly: Bool = false

  /// Sample pairs (i ≤ j) of the upper triangle this tile covers: `nI·nJ`, or `nI(nI+1)/2` on the
  /// diagonal (`nI` when `sameSampleOnly`).
  public var samplePairs: Int {
    if sameSampleOnly { return rows.count }
    return isDiagonal ? rows.count * (rows.count + 1) / 2 : rows.count * columns.count
  }
}
