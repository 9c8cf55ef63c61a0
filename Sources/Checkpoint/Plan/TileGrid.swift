import Storage

/// Which tiles (I, J) a plan holds, in what order and of what size, from the plan's numbers alone
/// (no tile list): the one owner of the tile order that `TilePlan` lists and that a journal's
/// records are checked against before any plan is built (`JournalRecord+Bounds`).
///
/// With n samples in blocks of t, b = ⌈n/t⌉ row blocks (and b_c = ⌈n_c/t⌉ column blocks for a
/// cross plan), row-major over I:
///
///     square eNTK, trace, pseudo:  I ≤ J < b,        index(I, J) = I·b − I(I−1)/2 + (J − I)   (b(b+1)/2 tiles)
///     cross plan:                  I < b, J < b_c,   index(I, J) = I·b_c + J                  (b·b_c tiles)
///     diagonal:                    I = J < b,        index(I, I) = I                          (b tiles)
public struct TileGrid: Equatable, Sendable {
  /// Samples n of the rows.
  public let sampleCount: Int
  /// Samples n_c of the columns: `sampleCount` unless `isCross`.
  public let columnSampleCount: Int
  /// Samples per block side t.
  public let tileSamples: Int
  /// The model's outputs (classes) per sample m.
  public let outputsPerSample: Int
  public let precision: TilePrecision
  public let kernel: KernelVariant
  /// Whether the columns are other samples (the manifest's `columns`): every block pair, nothing mirrored.
  public let isCross: Bool
  /// Row blocks b = ⌈n/t⌉.
  public let blockCount: Int
  /// Column blocks b_c = ⌈n_c/t⌉ (`blockCount` unless `isCross`).
  public let columnBlockCount: Int

  /// Checks the numbers (they may come from a journal header) and computes the block counts.
  ///
  /// - Throws: `CheckpointError(.badInput)` when n, n_c, t or m is below 1, for a cross `diagonal`
  ///   plan, when the whole matrix's bytes (n·m)·(n_c·m)·s overflow 64 bits (which bounds every
  ///   tile and every sum of tiles), or when a side has more than `TilePlan.maximumBlockCount` blocks.
  public init(sampleCount n: Int, columnSampleCount: Int?, tileSamples t: Int, outputsPerSample m: Int,
              precision: TilePrecision, kernel: KernelVariant) throws {
    guard n >= 1 else { throw CheckpointError(.badInput, "tile plan: expected at least 1 sample, found \(n)") }
    let nc = columnSampleCount ?? n
    guard nc >= 1 else { throw CheckpointError(.badInput, "tile plan: expected at least 1 column sample, found \(nc)") }
    guard t >= 1 else { throw CheckpointError(.badInput, "tile plan: tileSamples must be positive, found \(t)") }
    guard m >= 1 else { throw CheckpointError(.badInput, "tile plan: outputs per sample must be positive, found \(m)") }
    guard !(kernel == .diagonal && columnSampleCount != nil) else {
      throw CheckpointError(.badInput, "tile plan: the diagonal kernel has no cross plan (its blocks are k(x_i, x_i))")
    }
    let (side, o1) = n.multipliedReportingOverflow(by: m)
    let (columnSide, o2) = nc.multipliedReportingOverflow(by: m)
    let (square, o3) = side.multipliedReportingOverflow(by: columnSide)
    let (_, o4) = square.multipliedReportingOverflow(by: precision.byteSize)
    guard !o1, !o2, !o3, !o4 else {
      throw CheckpointError(.badInput, "tile plan: \(Plural.count(n, "sample")) × \(m) outputs: too large (the matrix's byte size overflows 64 bits)")
    }
    let blocks = TilePlan.blockCount(sampleCount: n, tileSamples: t)
    let columnBlocks = TilePlan.blockCount(sampleCount: nc, tileSamples: t)
    for (count, b) in [(n, blocks), (nc, columnBlocks)] where b > TilePlan.maximumBlockCount {
      throw CheckpointError(.badInput, "tile plan: \(Plural.count(count, "sample")) in tiles of \(t) make \(Plural.count(b, "block")) a side, at most \(TilePlan.maximumBlockCount) are supported; use ntk.tileSamples ≥ \((count + TilePlan.maximumBlockCount - 1) / TilePlan.maximumBlockCount)")
    }
    sampleCount = n
    self.columnSampleCount = nc
    tileSamples = t
    outputsPerSample = m
    self.precision = precision
    self.kernel = kernel
    isCross = columnSampleCount != nil
    blockCount = blocks
    columnBlockCount = columnBlocks
  }

  /// Tiles in all: b(b+1)/2, b·b_c for a cross plan, b for `diagonal`.
  public var tileCount: Int {
    isCross ? blockCount * columnBlockCount : kernel == .diagonal ? blockCount : blockCount * (blockCount + 1) / 2
  }

  /// The column blocks J of row block I's tiles, in plan order.
  public func columnBlocks(ofRow I: Int) -> Range<Int> {
    (isCross ? 0 : I)..<(kernel == .diagonal ? I + 1 : columnBlockCount)
  }

  /// The index of tile (I, J), or `nil` when the plan has no such tile.
  public func index(rowBlock I: Int, columnBlock J: Int) -> Int? {
    if kernel == .diagonal { return I == J && I >= 0 && I < blockCount ? I : nil }
    if isCross {
      guard I >= 0, I < blockCount, J >= 0, J < columnBlockCount else { return nil }
      return I * columnBlockCount + J
    }
    guard I >= 0, I <= J, J < blockCount else { return nil }
    return I * blockCount - I * (I - 1) / 2 + (J - I)
  }

  /// Raw bytes of tile (I, J) (`KernelVariant.tileByteCount` of its row and column samples).
  public func rawByteCount(rowBlock I: Int, columnBlock J: Int) -> Int {
    kernel.tileByteCount(rows: TilePlan.samples(ofBlock: I, sampleCount: sampleCount, tileSamples: tileSamples).count,
                         columns: TilePlan.samples(ofBlock: J, sampleCount: columnSampleCount, tileSamples: tileSamples).count,
                         outputs: outputsPerSample, scalarBytes: precision.byteSize)
  }

  /// Raw bytes of the largest tile, min(t, n)·m × min(t, n_c)·m values (tile (0, 0), or (0, 0) of a cross plan).
  public var largestTileByteCount: Int { rawByteCount(rowBlock: 0, columnBlock: 0) }
}
