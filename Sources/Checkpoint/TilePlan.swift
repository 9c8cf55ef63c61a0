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
/// Kernel variants (`KernelVariant`): `trace` and `pseudo` plan the same upper block triangle
/// with one value per sample pair (`outputsPerSample` 1: tiles `[n_I, n_J]`, matrix `[n, n]`);
/// `diagonal` plans one tile per block, (I, I) with index I, holding `[n_I, m, m]` (the blocks
/// k(x_i, x_i) of its samples).
public struct TilePlan: Equatable, Sendable {
  /// Number of samples n.
  public let sampleCount: Int
  /// Samples per block side t.
  public let tileSamples: Int
  /// Values per sample on each side of a tile: the outputs (classes) m for the `full` and
  /// `diagonal` kernels, 1 for `trace` and `pseudo` (`KernelVariant.valuesPerSample`).
  public let outputsPerSample: Int
  /// The model's outputs (classes) per sample m, whatever the kernel.
  public let classCount: Int
  /// The kernel the tiles hold.
  public let kernel: KernelVariant
  /// Precision of the tile values.
  public let precision: TilePrecision
  /// Number of blocks per side b = ⌈n/t⌉.
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
  public init(sampleCount n: Int, tileSamples t: Int, precision: TilePrecision, outputsPerSample m: Int = 10,
              kernel: KernelVariant = .full) throws {
    guard n >= 1 else { throw CheckpointError(.badInput, "tile plan: expected at least 1 sample, found \(n)") }
    guard t >= 1 else { throw CheckpointError(.badInput, "tile plan: tileSamples must be positive, found \(t)") }
    guard m >= 1 else { throw CheckpointError(.badInput, "tile plan: outputs per sample must be positive, found \(m)") }
    // Overflow-checked (the numbers may come from a journal header): the whole matrix's bytes,
    // (n·m)² · scalar size, must fit 64 bits, which bounds every tile and every sum of tiles.
    let (side, o1) = n.multipliedReportingOverflow(by: m)
    let (square, o2) = side.multipliedReportingOverflow(by: side)
    let (_, o3) = square.multipliedReportingOverflow(by: precision.byteSize)
    guard !o1, !o2, !o3 else {
      throw CheckpointError(.badInput, "tile plan: \(n) samples × \(m) outputs: too large (the matrix's byte size overflows 64 bits)")
    }
    let blocks = n / t + (n % t == 0 ? 0 : 1)
    guard blocks <= TilePlan.maximumBlockCount else {
      throw CheckpointError(.badInput, "tile plan: \(n) samples in tiles of \(t) make \(blocks) blocks a side, at most \(TilePlan.maximumBlockCount) are supported; use ntk.tileSamples ≥ \((n + TilePlan.maximumBlockCount - 1) / TilePlan.maximumBlockCount)")
    }
    sampleCount = n
    tileSamples = t
    outputsPerSample = kernel.valuesPerSample(outputs: m)
    classCount = m
    self.kernel = kernel
    self.precision = precision
    let b = blocks
    blockCount = b
    var tiles: [Tile] = []
    tiles.reserveCapacity(kernel == .diagonal ? b : b * (b + 1) / 2)
    for I in 0..<b {
      let rows = (I * t)..<min((I + 1) * t, n)
      for J in I..<(kernel == .diagonal ? I + 1 : b) {
        let columns = (J * t)..<min((J + 1) * t, n)
        tiles.append(Tile(index: tiles.count, rowBlock: I, columnBlock: J, rows: rows, columns: columns,
                          rawByteCount: kernel.tileByteCount(rows: rows.count, columns: columns.count, outputs: m,
                                                             scalarBytes: precision.byteSize),
                          sameSampleOnly: kernel == .diagonal))
      }
    }
    self.tiles = tiles
  }

  /// Side of the full matrix, n·m (n for `trace` and `pseudo`; `diagonal`: n·m rows of m).
  public var dimension: Int { sampleCount * outputsPerSample }

  /// Sample pairs (i ≤ j) of the upper triangle: n(n+1)/2 (n for `diagonal`).
  public var samplePairs: Int { kernel == .diagonal ? sampleCount : sampleCount * (sampleCount + 1) / 2 }

  /// Raw bytes of all tiles together.
  public var rawByteCount: Int { tiles.reduce(0) { $0 + $1.rawByteCount } }

  /// The index of tile (I, J), or `nil` unless 0 ≤ I ≤ J < b (I = J for `diagonal`: index I).
  public func index(rowBlock I: Int, columnBlock J: Int) -> Int? {
    guard I >= 0, I <= J, J < blockCount else { return nil }
    if kernel == .diagonal { return I == J ? I : nil }
    return I * blockCount - I * (I - 1) / 2 + (J - I)
  }
}
