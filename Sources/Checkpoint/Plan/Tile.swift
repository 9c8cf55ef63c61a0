/// One tile of the eNTK: the block `G[I, J]` between the samples of row block I and those of
/// column block J (I ≤ J; any J in a cross plan, whose columns are the `columns` samples), of
/// shape `[rows.count·m, columns.count·m]` (m = 10 outputs).
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

  /// Whether the tile lies on the diagonal of the symmetric eNTK (I = J, not a cross plan); such a
  /// tile is itself symmetric (computed on its upper triangle, mirrored). Always false in a cross
  /// plan, whose rows and columns are different samples.
  public var isDiagonal: Bool

  /// Only the same-sample pairs (i, i) (the `diagonal` kernel's tiles, `[n_I, m, m]`).
  public var sameSampleOnly: Bool

  public init(index: Int, rowBlock: Int, columnBlock: Int, rows: Range<Int>, columns: Range<Int>, rawByteCount: Int,
              isDiagonal: Bool? = nil, sameSampleOnly: Bool = false) {
    self.index = index
    self.rowBlock = rowBlock
    self.columnBlock = columnBlock
    self.rows = rows
    self.columns = columns
    self.rawByteCount = rawByteCount
    self.isDiagonal = isDiagonal ?? (rowBlock == columnBlock)
    self.sameSampleOnly = sameSampleOnly
  }

  /// Sample pairs (i ≤ j) of the upper triangle this tile covers: `nI·nJ`, or `nI(nI+1)/2` on the
  /// diagonal (always `nI·nJ` in a cross plan; `nI` when `sameSampleOnly`).
  public var samplePairs: Int {
    if sameSampleOnly { return rows.count }
    return isDiagonal ? rows.count * (rows.count + 1) / 2 : rows.count * columns.count
  }
}
