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
  /// Number of samples n (of the rows).
  public let sampleCount: Int
  /// Number of column samples n_c: `sampleCount` for the square eNTK, the `columns` samples for
  /// a cross plan.
  public let columnSampleCount: Int
  /// Whether this is a cross plan (rectangular, every block pair, nothing mirrored).
  public let isCross: Bool
  /// Number of column blocks b_c = ⌈n_c/t⌉ (`blockCount` for the square eNTK).
  public let columnBlockCount: Int
  /// Samples per block side t.
  public let tileSamples: Int
  /// Values per sample on each side of a tile: the outputs (classes) m for the `full` and
  /// `diagonal` kernels, 1 for `trace` and `pseudo` (`KernelVariant.valuesPerSample`).
  public let valuesPerSample: Int
  /// The model's outputs (classes) per sample m, whatever the kernel.
  public let outputsPerSample: Int
  /// The kernel the tiles hold.
  public let kernel: KernelVariant
  /// Precision of the tile values.
  public let precision: TilePrecision
  /// Number of row blocks b = ⌈n/t⌉ (per side, for the square eNTK).
  public let blockCount: Int
  /// The tiles, `tiles[k].index == k`.
  public let tiles: [Tile]

  /// Largest number of blocks a side b = ⌈n/t⌉ (b(b+1)/2 tiles; 4096 blocks ≈ 8.4 million tiles).
  public static let maximumBlockCount = 4096

  /// Plans n samples in blocks of t.
  ///
  /// - Throws: `CheckpointError` (`.badInput`) unless n ≥ 1, t ≥ 1, m ≥ 1, the matrix's byte size
  ///   (n·m)²·s fits 64 bits and the plan has at most `maximumBlockCount` blocks a side (so the
  ///   tile list stays below ~8.4 million tiles).
  ///   With `columnSampleCount` (n_c ≥ 1), plans the cross kernel: (n·m)·(n_c·m)·s must fit 64
  ///   bits and each side has at most `maximumBlockCount` blocks. The `diagonal` kernel has no
  ///   cross plan (`.badInput`).
  public init(sampleCount n: Int, columnSampleCount: Int? = nil, tileSamples t: Int, precision: TilePrecision, outputsPerSample m: Int = 10,
              kernel: KernelVariant = .full) throws {
    guard n >= 1 else { throw CheckpointError(.badInput, "tile plan: expected at least 1 sample, found \(n)") }
    let nc = columnSampleCount ?? n
    guard nc >= 1 else { throw CheckpointError(.badInput, "tile plan: expected at least 1 column sample, found \(nc)") }
    guard t >= 1 else { throw CheckpointError(.badInput, "tile plan: tileSamples must be positive, found \(t)") }
    guard m >= 1 else { throw CheckpointError(.badInput, "tile plan: outputs per sample must be positive, found \(m)") }
    guard !(kernel == .diagonal && columnSampleCount != nil) else {
      throw CheckpointError(.badInput, "tile plan: the diagonal kernel has no cross plan (its blocks are k(x_i, x_i))")
    }
    // Overflow-checked (the numbers may come from a journal header): the whole matrix's bytes,
    // (n·m)² · scalar size, must fit 64 bits, which bounds every tile and every sum of tiles.
    let (side, o1) = n.multipliedReportingOverflow(by: m)
    let (columnSide, o4) = nc.multipliedReportingOverflow(by: m)
    let (square, o2) = side.multipliedReportingOverflow(by: columnSide)
    let (_, o3) = square.multipliedReportingOverflow(by: precision.byteSize)
    guard !o1, !o2, !o3, !o4 else {
      throw CheckpointError(.badInput, "tile plan: \(n) samples × \(m) outputs: too large (the matrix's byte size overflows 64 bits)")
    }
    let blocks = TilePlan.blockCount(sampleCount: n, tileSamples: t)
    let columnBlocks = TilePlan.blockCount(sampleCount: nc, tileSamples: t)
    for (count, b) in [(n, blocks), (nc, columnBlocks)] where b > TilePlan.maximumBlockCount {
      throw CheckpointError(.badInput, "tile plan: \(count) samples in tiles of \(t) make \(b) blocks a side, at most \(TilePlan.maximumBlockCount) are supported; use ntk.tileSamples ≥ \((count + TilePlan.maximumBlockCount - 1) / TilePlan.maximumBlockCount)")
    }
    sampleCount = n
    self.columnSampleCount = nc
    isCross = columnSampleCount != nil
    columnBlockCount = columnBlocks
    tileSamples = t
    valuesPerSample = kernel.valuesPerSample(outputs: m)
    outputsPerSample = m
    self.kernel = kernel
    self.precision = precision
    let b = blocks
    blockCount = b
    var tiles: [Tile] = []
    tiles.reserveCapacity(isCross ? b * columnBlocks : kernel == .diagonal ? b : b * (b + 1) / 2)
    for I in 0..<b {
      let rows = TilePlan.samples(ofBlock: I, sampleCount: n, tileSamples: t)
      for J in (isCross ? 0 : I)..<(kernel == .diagonal ? I + 1 : columnBlocks) {
        let columns = TilePlan.samples(ofBlock: J, sampleCount: nc, tileSamples: t)
        tiles.append(Tile(index: tiles.count, rowBlock: I, columnBlock: J, rows: rows, columns: columns,
                          rawByteCount: kernel.tileByteCount(rows: rows.count, columns: columns.count, outputs: m,
                                                             scalarBytes: precision.byteSize),
                          isDiagonal: !isCross && I == J, sameSampleOnly: kernel == .diagonal))
      }
    }
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
  public func index(rowBlock I: Int, columnBlock J: Int) -> Int? {
    if kernel == .diagonal { return I == J && I >= 0 && I < blockCount ? I : nil }
    if isCross {
      guard I >= 0, I < blockCount, J >= 0, J < columnBlockCount else { return nil }
      return I * columnBlockCount + J
    }
    guard I >= 0, I <= J, J < blockCount else { return nil }
    return I * blockCount - I * (I - 1) / 2 + (J - I)
  }

  /// The stored tile holding output block (I, J) of the full matrix, and whether the block is its
  /// transpose: the square eNTK stores (min, max) and mirrors I > J; a cross plan stores every
  /// (I, J) as is. `nil` outside the grid.
  public func storedTile(rowBlock I: Int, columnBlock J: Int) -> (index: Int, transposed: Bool)? {
    if isCross { return index(rowBlock: I, columnBlock: J).map { ($0, false) } }
    return index(rowBlock: min(I, J), columnBlock: max(I, J)).map { ($0, I > J) }
  }
}
