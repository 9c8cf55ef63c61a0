/// Computes eNTK tiles `G_IJ = s · J_I J_Jᵀ` (`[n_I·m, n_J·m]` row-major) of a dataset held in
/// memory, reusing Jacobian blocks across tiles within a memory bound.
///
/// A tile is asked for by its samples — the row block's and the column block's sample ranges,
/// as the tile plan (Checkpoint's `TilePlan`, the one owner of tile ranges) gives them; a block
/// is identified by its sample range. Tiles are expected row by row (I, then J ≥ I, as `TilePlan`
/// orders them); any order works, only the reuse changes: which blocks are kept, and so which are
/// computed again, is `BlockCachePolicy`'s rule (the row block kept for its row, later column
/// blocks cached within `cacheBytes`; with the whole upper triangle in order each block is
/// computed once if the cache holds all blocks, at most `b(b+1)/2` times otherwise).
///
/// **Cross kernels** (`columnInputs` given): rows come from `inputs`, columns from `columnInputs`,
/// K(rows, columns); no tile is diagonal (a block pair (I, I) holds different samples on its two
/// sides, so it is contracted in full with GEMM, never SYRK-and-mirror). Each row block is
/// computed once for its row; column blocks are cached (within `cacheBytes`) across all rows and
/// never evicted.
///
/// Deterministic: a tile's bytes depend only on the model, the inputs, the blocks and the
/// thread count, never on what is cached or on the strategy (both contract the same layer parts
/// with the same BLAS calls in the same order: `TileKernel.accumulate`).
public final class TileSource<T: BLASScalar> {
  /// Work done so far (for benchmarks and progress lines).
  public struct Statistics: Equatable, Sendable {
    /// Jacobian blocks (or factors) computed, and how many samples they held in total.
    public var blocksComputed = 0
    public var samplesComputed = 0
    /// Column blocks served from the cache.
    public var cacheHits = 0
    /// Seconds spent computing blocks (forward + reverse passes) and contracting tiles (for
    /// `.layerStreaming`, contraction includes materialising each layer's rows).
    public var jacobianSeconds = 0.0
    public var contractionSeconds = 0.0
    /// FLOP of the contraction's GEMM/SYRK calls: explicit parts (`2·R_I·R_J·P_l`, or `R²·P_l` on
    /// diagonal tiles) and structured Conv2d parts (`StructuredConvContraction`), the figure
    /// behind "contraction GFLOP/s".
    public var contractionFLOP = 0.0
    /// Of `contractionFLOP`, the structured Conv2d contractions' GEMM FLOP (`StructuredConvContraction`).
    public var structuredFLOP = 0.0
    /// Seconds spent materialising layer parts inside the contraction (`.layerStreaming` only).
    public var materialisationSeconds = 0.0
  }

  private enum Block {
    case whole(JacobianBlock<T>)
    case factors(JacobianFactors<T>)

    var scalarCount: Int {
      switch self {
      case .whole(let block):
        return block.parts.reduce(0) { $0 + $1.scalarCount }
      case .factors(let factors): return factors.scalarCount
      }
    }
  }

  public let model: Model<T>
  public let inputs: Tensor<T>
  /// Cross kernels: the column samples `[n_c, 3, 32, 32]`; `nil` for the square eNTK (columns
  /// are `inputs`).
  public let columnInputs: Tensor<T>?
  public let scale: T
  public let tileSamples: Int
  public let strategy: TileStrategy
  /// Which layers are contracted through their structure (the same for every block).
  public let choice: ContractionChoice
  /// The kernel computed (`full` unless the manifest's `ntk.kernel` says otherwise).
  public let variant: NTKVariant
  /// Bound on the bytes of cached column blocks (the row block and the current column block
  /// are not counted: they are part of the working set).
  public let cacheBytes: Int
  public private(set) var statistics = Statistics()
  /// Checked between layers and between the contraction's BLAS calls: once cancelled, `tile`
  /// throws `EngineError(.cancelled)` (within one layer's or one BLAS call's time) and the
  /// partial result is discarded. `nil`: never cancelled.
  public var cancellation: TileCancellation?

  /// What is kept (`BlockCachePolicy`), and the kept blocks: the row block and the cached ones.
  private var policy: BlockCachePolicy
  private var rowBlock: Block?
  private var cache: [Range<Int>: Block] = [:]
  private let clock = ContinuousClock()

  /// - Parameters:
  ///   - inputs: the dataset `[n, 3, 32, 32]`.
  ///   - scale: 1 (normalization `none`) or `1/√P` (`sqrt-params`).
  ///   - tileSamples: samples per block side t ≥ 1 (the run's `tileSamples`), what the default
  ///     `choice` is made for; the tiles' sample ranges are given to `tile(rows:columns:)`.
  ///   - cacheBytes: bytes of column blocks kept for later rows (0: recompute every column block).
  ///   - choice: per-layer contraction; default `ContractionChoice.make` for `min(tileSamples, n)`
  ///     and the variant's outputs per contraction (what `TileMemoryPlan` plans with).
  ///   - columnInputs: cross kernels only, the column samples `[n_c, 3, 32, 32]`.
  ///   - variant: the kernel (`NTKVariant`): tile shapes `[n_I·m, n_J·m]` (full), `[n_I, n_J]`
  ///     (trace, pseudo), `[n_I, m, m]` (diagonal, I = J only; never with `columnInputs`).
  public init(model: Model<T>, inputs: Tensor<T>, scale: T, tileSamples: Int, strategy: TileStrategy, cacheBytes: Int,
              choice: ContractionChoice? = nil, columnInputs: Tensor<T>? = nil, variant: NTKVariant = .full) {
    precondition(variant != .diagonal || columnInputs == nil, "the diagonal kernel has no cross tiles")
    precondition(tileSamples >= 1, "tileSamples must be positive")
    self.model = model
    self.inputs = inputs
    self.columnInputs = columnInputs
    self.scale = scale
    self.tileSamples = tileSamples
    self.strategy = strategy
    self.cacheBytes = max(0, cacheBytes)
    self.policy = BlockCachePolicy(cacheBytes: cacheBytes, isCross: columnInputs != nil)
    self.variant = variant
    self.choice = choice ?? ContractionChoice.make(model: model, tileSamples: min(tileSamples, max(1, inputs.batchSize)),
                                                   outputs: variant.contractionOutputs(outputs: model.outputsPerSample))
  }

  /// Whether this source computes a cross kernel (`columnInputs` given).
  public var isCross: Bool { columnInputs != nil }

  /// The tile of the row block holding samples `rows` and the column block holding samples
  /// `columns` (of `columnInputs` for a cross kernel) — a `Tile`'s `rows` and `columns` from the
  /// tile plan — `[n_I·m, n_J·m]` row-major (for `variant` `trace` and `pseudo` `[n_I, n_J]`, for
  /// `diagonal` `[n_I, m, m]`); a diagonal tile (`rows == columns`) of the square eNTK is computed
  /// on its upper triangle (SYRK) and mirrored (never in a cross kernel).
  ///
  /// - Throws: `EngineError.sampleRange` for an empty range or one outside `0 ..< n` (columns:
  ///   `0 ..< n_c`), or `rows ≠ columns` for the `diagonal` kernel.
  public func tile(rows: Range<Int>, columns: Range<Int>) throws -> [T] {
    let columnCount = (columnInputs ?? inputs).batchSize
    guard !rows.isEmpty, !columns.isEmpty, rows.lowerBound >= 0, columns.lowerBound >= 0,
          rows.upperBound <= inputs.batchSize, columns.upperBound <= columnCount else {
      throw EngineError(.sampleRange, "tile of samples \(rows) × \(columns) outside the \(inputs.batchSize) × \(columnCount) samples")
    }
    guard variant != .diagonal || rows == columns else {
      throw EngineError(.sampleRange, "tile of samples \(rows) × \(columns): the diagonal kernel has only tiles (I, I)")
    }
    let rowBlock = try rowBlockValue(rows)
    let isDiagonal = !isCross && rows == columns
    let columnBlock = isDiagonal ? rowBlock : try columnBlockValue(columns)
    return try contract(rowBlock, columnBlock, isDiagonal: isDiagonal)
  }

  private func rowBlockValue(_ samples: Range<Int>) throws -> Block {
    switch policy.startRow(samples) {
    case .current:
      if let rowBlock { return rowBlock }
    case .started(let fromCache, let evicted):
      let kept = fromCache ? cache[samples] : nil
      rowBlock = nil  // release the previous row's block (and the evicted ones) before computing the next
      for key in evicted { cache[key] = nil }
      if let kept {
        statistics.cacheHits += 1
        rowBlock = kept
        return kept
      }
    }
    let block = try compute(samples, from: inputs)
    rowBlock = block
    return block
  }

  private func columnBlockValue(_ samples: Range<Int>) throws -> Block {
    if let cached = cache[samples] {
      statistics.cacheHits += 1
      return cached
    }
    let block = try compute(samples, from: columnInputs ?? inputs)
    if policy.admit(samples, bytes: block.scalarCount * MemoryLayout<T>.stride) { cache[samples] = block }
    return block
  }

  private func compute(_ range: Range<Int>, from inputs: Tensor<T>) throws -> Block {
    let size = inputs.sampleSize
    let batch = Tensor(shape: [range.count] + inputs.sampleShape,
                       storage: Array(inputs.storage[(range.lowerBound * size)..<(range.upperBound * size)]))
    let start = clock.now
    defer { statistics.jacobianSeconds += seconds(since: start) }
    statistics.blocksComputed += 1
    statistics.samplesComputed += range.count
    switch strategy {
    case .wholeBlocks: return .whole(try model.jacobian(inputs: batch, choice: choice, variant: variant, cancellation: cancellation))
    case .layerStreaming: return .factors(try model.jacobianFactors(inputs: batch, variant: variant, cancellation: cancellation))
    }
  }

  private func contract(_ a: Block, _ b: Block, isDiagonal: Bool) throws -> [T] {
    let start = clock.now
    defer { statistics.contractionSeconds += seconds(since: start) }
    if variant == .trace || variant == .diagonal { return try contractReduced(a, b, isDiagonal: isDiagonal) }
    let m = variant.jacobianOutputs(outputs: model.outputsPerSample)  // 1 for pseudo: one row of f̄ per sample
    let (nI, nJ) = (sampleCount(a), sampleCount(b))
    // Zeroed by `TileKernel.start` (specialised; a generic zero fill here went element by element).
    let scalars = nI * m * nJ * m
    var result = [T](unsafeUninitializedCapacity: scalars) { _, initialized in initialized = scalars }
    var scratch = TileKernel.Scratch<T>()
    try result.withUnsafeMutableBufferPointer { out in
      TileKernel.start(out, rows: nI * m, columns: nJ * m, isDiagonal: isDiagonal)
      switch (a, b) {
      case (.whole(let x), .whole(let y)):
        for (p, q) in zip(x.parts, y.parts) {
          try cancellation?.check()
          count(p, rows: nI * m, columns: nJ * m, isDiagonal: isDiagonal)
          TileKernel.accumulate(p, q, rowSamples: nI, columnSamples: nJ, outputsPerSample: m, isDiagonal: isDiagonal,
                                scratch: &scratch, into: out)
        }
      case (.factors(let x), .factors(let y)):
        for k in 0..<x.partCount {
          try cancellation?.check()
          let materialised = clock.now
          let p = model.jacobianPart(k, of: x, choice: choice)
          let q = isDiagonal ? p : model.jacobianPart(k, of: y, choice: choice)
          statistics.materialisationSeconds += seconds(since: materialised)
          count(p, rows: nI * m, columns: nJ * m, isDiagonal: isDiagonal)
          TileKernel.accumulate(p, q, rowSamples: nI, columnSamples: nJ, outputsPerSample: m, isDiagonal: isDiagonal,
                                scratch: &scratch, into: out)
        }
      default:
        preconditionFailure("blocks of one TileSource share its strategy")
      }
      TileKernel.finish(out, rows: nI * m, isDiagonal: isDiagonal, scale: scale)
    }
    return result
  }

  /// The `trace` tile `[n_I, n_J]` or the `diagonal` tile `[n_I, m, m]` (`VariantContraction`),
  /// layer by layer in parameter order from the blocks' m-output parts.
  private func contractReduced(_ a: Block, _ b: Block, isDiagonal: Bool) throws -> [T] {
    let m = model.outputsPerSample
    let (nI, nJ) = (sampleCount(a), sampleCount(b))
    var result = [T](repeating: 0, count: variant.tileScalarCount(rows: nI, columns: nJ, outputs: m))
    var scratch = TileKernel.Scratch<T>()
    let partCount: Int
    switch a {
    case .whole(let x): partCount = x.parts.count
    case .factors(let x): partCount = x.partCount
    }
    try result.withUnsafeMutableBufferPointer { out in
      if variant == .trace { TileKernel.start(out, rows: nI, columns: nJ, isDiagonal: isDiagonal) }
      for k in 0..<partCount {
        try cancellation?.check()
        let p: JacobianPart<T>, q: JacobianPart<T>
        switch (a, b) {
        case (.whole(let x), .whole(let y)):
          (p, q) = (x.parts[k], y.parts[k])
        case (.factors(let x), .factors(let y)):
          let materialised = clock.now
          p = model.jacobianPart(k, of: x, choice: choice)
          q = isDiagonal ? p : model.jacobianPart(k, of: y, choice: choice)
          statistics.materialisationSeconds += seconds(since: materialised)
        default:
          preconditionFailure("blocks of one TileSource share its strategy")
        }
        let flop = variant == .trace
          ? VariantContraction.accumulateTrace(p, q, rowSamples: nI, columnSamples: nJ, outputsPerSample: m, isDiagonal: isDiagonal,
                                               scratch: &scratch, into: out)
          : VariantContraction.accumulateDiagonal(p, samples: nI, outputsPerSample: m, scratch: &scratch, into: out)
        statistics.contractionFLOP += flop.flop
        statistics.structuredFLOP += flop.structured
      }
      if variant == .trace {
        TileKernel.finish(out, rows: nI, isDiagonal: isDiagonal, scale: scale)
      } else {
        VariantContraction.finishDiagonal(out, samples: nI, outputsPerSample: m, scale: scale)
      }
    }
    return result
  }

  private func sampleCount(_ block: Block) -> Int {
    switch block {
    case .whole(let x): return x.sampleCount
    case .factors(let x): return x.sampleCount
    }
  }

  private func count(_ part: JacobianPart<T>, rows: Int, columns: Int, isDiagonal: Bool) {
    switch part {
    case .explicit(let width, _):
      statistics.contractionFLOP += Double(isDiagonal ? rows * rows : 2 * rows * columns) * Double(width)
    case .convolution(let f):
      // Pairs (x, y) contracted (y ≥ x on a diagonal tile) times the FLOP per pair.
      let outputs = f.rows / max(1, f.samples)
      let (nI, nJ) = (rows / outputs, columns / outputs)
      let pairs = isDiagonal ? Double(nI * (nI + 1) / 2) : Double(nI * nJ)
      let perPair = StructuredConvContraction.pairFLOP(positions: f.positions, groups: f.groups, groupPatch: f.groupPatch,
                                                       groupOutputs: f.groupOutputs, outputsPerSample: outputs, patchGram: f.patchGram)
      statistics.structuredFLOP += pairs * perPair
      statistics.contractionFLOP += pairs * perPair
    case .linear:
      break
    }
  }

  private func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = clock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
  }
}
