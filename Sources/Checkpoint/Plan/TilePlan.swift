/// The ordered list of tiles that covers the upper triangle of the eNTK.
///
/// With n samples and t = `tileSamples`, the samples form b = ⌈n/t⌉ blocks (the last one may be
/// shorter). The tiles are the block pairs (I, J) with I ≤ J, in row-major order — I, then J —
/// so tile k is addressable by index (sharding splits this list):
///
///     index(I, J) = I·b − I(I−1)/2 + (J − I)        (b(b+1)/2 tiles in all)
///
/// The full matrix `[n·m, n·m]` is the union of the tiles and the transposes of the off-diagonal
/// ones. m = 10 outputs per sample.
///
/// A **cross plan** (`columnSampleCount` given: the manifest's `columns`) covers the rectangular
/// kernel K(rows, columns) `[n·m, n_c·m]`: every block pair (I, J), I < b row blocks, J < b_c =
/// ⌈n_c/t⌉ column blocks, row-major, no symmetry and no mirroring:
///
///     index(I, J) = I·b_c + J        (b·b_c tiles in all)
///
/// Kernel variants (`KernelVariant`): `trace` and `pseudo` plan the same upper block triangle
/// (or the same rectangle of a cross plan) with one value per sample pair (`valuesPerSample` 1:
/// tiles `[n_I, n_J]`, matrix `[n, n]`); `diagonal` (never a cross plan) plans one tile per block,
/// (I, I) with index I, holding `[n_I, m, m]` (the blocks k(x_i, x_i) of its samples).
public struct TilePlan: Equatable, Sendable {
  /// The plan's numbers and tile order (`TileGrid`, the one owner of which tiles exist).
  public let grid: TileGrid
  /// The tiles, `tiles[k].index == k`.
  public let tiles: [Tile]

  /// Number of samples n (of the rows).
  public var sampleCount: Int { grid.sampleCount }
  /// Number of column samples n_c: `sampleCount` for the square eNTK, the `columns` samples for
  /// a cross plan.
  public var columnSampleCount: Int { grid.columnSampleCount }
  /// Whether this is a cross plan (rectangular, every block pair, nothing mirrored).
  public var isCross: Bool { grid.isCross }
  /// Number of column blocks b_c = ⌈n_c/t⌉ (`blockCount` for the square eNTK).
  public var columnBlockCount: Int { grid.columnBlockCount }
  /// Samples per block side t.
  public var tileSamples: Int { grid.tileSamples }
  /// Values per sample on each side of a tile: the outputs (classes) m for the `full` and
  /// `diagonal` kernels, 1 for `trace` and `pseudo` (`KernelVariant.valuesPerSample`).
  public var valuesPerSample: Int { kernel.valuesPerSample(outputs: outputsPerSample) }
  /// The model's outputs (classes) per sample m, whatever the kernel.
  public var outputsPerSample: Int { grid.outputsPerSample }
  /// The kernel the tiles hold.
  public var kernel: KernelVariant { grid.kernel }
  /// Precision of the tile values.
  public var precision: TilePrecision { grid.precision }
  /// Number of row blocks b = ⌈n/t⌉ (per side, for the square eNTK).
  public var blockCount: Int { grid.blockCount }

  /// Largest number of blocks a side b = ⌈n/t⌉ (b(b+1)/2 tiles; 4096 blocks ≈ 8.4 million tiles).
  public static let maximumBlockCount = 4096

  /// Plans n samples in blocks of t (tile order and sizes: `TileGrid`).
  ///
  /// - Throws: `CheckpointError` (`.badInput`) from `TileGrid.init`: unless n ≥ 1, t ≥ 1, m ≥ 1,
  ///   the matrix's byte size (n·m)·(n_c·m)·s fits 64 bits and each side has at most
  ///   `maximumBlockCount` blocks (so the tile list stays below ~8.4 million tiles); the
  ///   `diagonal` kernel has no cross plan.
  public init(sampleCount n: Int, columnSampleCount: Int? = nil, tileSamples t: Int, precision: TilePrecision, outputsPerSample m: Int = 10,
              kernel: KernelVariant = .full) throws {
    let grid = try TileGrid(sampleCount: n, columnSampleCount: columnSampleCount, tileSamples: t, outputsPerSample: m,
                            precision: precision, kernel: kernel)
    var tiles: [Tile] = []
    tiles.reserveCapacity(grid.tileCount)
    for I in 0..<grid.blockCount {
      let rows = TilePlan.samples(ofBlock: I, sampleCount: n, tileSamples: t)
      for J in grid.columnBlocks(ofRow: I) {
        let columns = TilePlan.samples(ofBlock: J, sampleCount: grid.columnSampleCount, tileSamples: t)
        tiles.append(Tile(index: tiles.count, rowBlock: I, columnBlock: J, rows: rows, columns: columns,
                          rawByteCount: grid.rawByteCount(rowBlock: I, columnBlock: J),
                          isDiagonal: !grid.isCross && I == J, sameSampleOnly: kernel == .diagonal))
      }
    }
    self.grid = grid
    self.tiles = tiles
  }

  /// Blocks of n samples in blocks of t: b = ⌈n/t⌉.
  public static func blockCount(sampleCount n: Int, tileSamples t: Int) -> Int { n / t + (n % t == 0 ? 0 : 1) }

  /// The samples of block I of n samples in blocks of t: `I·t ..< min((I+1)·t, n)` (the last
  /// block may be shorter). The one definition of a tile's `rows` and `columns`: the engine takes
  /// them from the tile.
  public static func samples(ofBlock I: Int, sampleCount n: Int, tileSamples t: Int) -> Range<Int> {
    (I * t)..<min((I + 1) * t, n)
  }

  /// Side of the full matrix, n·m (its rows, for a cross plan; n for `trace` and `pseudo`;
  /// `diagonal`: n·m rows of m).
  public var dimension: Int { sampleCount * valuesPerSample }

  /// Columns of the full matrix, n_c·m (`dimension` for the square eNTK).
  public var columnDimension: Int { columnSampleCount * valuesPerSample }

  /// Shape of the assembled matrix (`KernelVariant.assembledShape`): `[n·m, n_c·m]`, `[n, n_c]`
  /// for `trace` and `pseudo`, `[n, m, m]` for `diagonal`.
  public var assembledShape: [Int] {
    kernel.assembledShape(samples: sampleCount, columnSamples: columnSampleCount, outputs: outputsPerSample)
  }

  /// Values of the assembled matrix, `∏ assembledShape` (fits: checked when planning).
  public var assembledValueCount: Int { assembledShape.reduce(1, *) }

  /// Sample pairs the plan computes: n(n+1)/2 (i ≤ j) for the square eNTK, n·n_c for a cross plan,
  /// n for `diagonal`.
  public var samplePairs: Int {
    if kernel == .diagonal { return sampleCount }
    return isCross ? sampleCount * columnSampleCount : sampleCount * (sampleCount + 1) / 2
  }

  /// Raw bytes of all tiles together.
  public var rawByteCount: Int { tiles.reduce(0) { $0 + $1.rawByteCount } }

  /// The index of tile (I, J), or `nil` unless 0 ≤ I ≤ J < b (cross plan: 0 ≤ I < b, 0 ≤ J < b_c;
  /// `diagonal`: I = J, index I).
  public func index(rowBlock I: Int, columnBlock J: Int) -> Int? { grid.index(rowBlock: I, columnBlock: J) }

  /// The stored tile holding output block (I, J) of the full matrix, and whether the block is its
  /// transpose: the square eNTK stores (min, max) and mirrors I > J; a cross plan stores every
  /// (I, J) as is. `nil` outside the grid.
  public func storedTile(rowBlock I: Int, columnBlock J: Int) -> (index: Int, transposed: Bool)? {
    if isCross { return index(rowBlock: I, columnBlock: J).map { ($0, false) } }
    return index(rowBlock: min(I, J), columnBlock: max(I, J)).map { ($0, I > J) }
  }
}
