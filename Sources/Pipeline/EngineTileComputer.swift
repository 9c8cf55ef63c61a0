import Checkpoint
import Engine
import Storage

/// Computes eNTK tiles for the runner: `G_IJ = s · J_I J_Jᵀ`, raw little-endian bytes of a
/// row-major `[n_I·10, n_J·10]` array in the run precision, through a `TileSource` (row block
/// kept for its row, column blocks cached for later rows within the memory plan, whole blocks
/// or layer streaming as the plan says).
/// Deterministic: a tile's bytes depend only on the model, the inputs and the tile, never on
/// which tiles this process computed before (resumed runs are byte-identical).
public final class EngineTileComputer<T: BLASScalar> {
  public let source: TileSource<T>

  /// - Parameters:
  ///   - inputs: `[n, 3, 32, 32]`.
  ///   - normalization: `none` (s = 1) or `sqrt-params` (s = 1/√P).
  ///   - plan: tile size, strategy and cache bytes (`TileMemoryPlan`).
  ///   - columnInputs: cross runs, the column samples `[n_c, 3, 32, 32]` (tiles K(rows, columns)).
  ///   - kernel: `ntk.kernel` (tiles `[n_I·10, n_J·10]`, `[n_I, n_J]` for trace and pseudo,
  ///     `[n_I, 10, 10]` for diagonal).
  public init(model: Model<T>, inputs: Tensor<T>, normalization: KernelNormalization, plan: TileMemoryPlan, columnInputs: Tensor<T>? = nil,
       kernel: KernelVariant = .full) {
    self.normalization = normalization
    let scale = normalization == .sqrtParams ? T(1 / Double(model.parameterCount).squareRoot()) : 1
    source = TileSource(model: model, inputs: inputs, scale: scale, tileSamples: plan.tileSamples,
                        strategy: plan.strategy, cacheBytes: plan.cacheBytes, choice: plan.contraction,
                        columnInputs: columnInputs, variant: kernel.engineVariant)
    self.kernel = kernel
  }

  public let kernel: KernelVariant
  /// The normalization the tiles are computed with (named in overflow advice).
  public let normalization: KernelNormalization

  /// The values of `tile`, `[n_I·m, n_J·m]` row-major (other shapes: `TileSource.tile`); their
  /// memory is the raw little-endian tile, stored as it is.
  ///
  /// - Throws: `CheckpointError` (`.failure`, exit 1) naming the tile when a value is NaN or ±Inf
  ///   (weights and inputs are checked finite before a run starts, so this is an overflow in the
  ///   run precision): such a tile is never stored nor journaled.
  public func values(_ tile: Tile) throws -> [T] {
    let values = try source.tile(rows: tile.rows, columns: tile.columns)
    if let bad = NonFiniteScan.scan(values) {
      let width = kernel.tileColumnCount(columns: tile.columns.count, outputs: source.model.outputsPerSample)
      throw CheckpointError(.failure, "tile \(tile.index) (I=\(tile.rowBlock), J=\(tile.columnBlock)): \(Plural.count(bad.count, "non-finite value")), the first \(bad.value) at row \(bad.index / width), column \(bad.index % width) of the tile, from finite weights and inputs (overflow in \(T.self == Float.self ? "float32" : "float64")); not journaled (\(OverflowHint.tile(precision: T.self == Float.self ? .float32 : .float64, normalization: normalization)))")
    }
    return values
  }

  /// Logits of every sample, `[n, 10]`, in blocks of `batchSamples` (`columns`: of the column
  /// samples of a cross run, `[n_c, 10]`).
  public func logits(batchSamples: Int, columns: Bool = false) throws -> [T] {
    let inputs = columns ? (source.columnInputs ?? source.inputs) : source.inputs
    let n = inputs.batchSize
    let size = inputs.sampleSize
    var result: [T] = []
    result.reserveCapacity(n * source.model.outputsPerSample)
    for start in stride(from: 0, to: n, by: batchSamples) {
      let end = min(n, start + batchSamples)
      let batch = Tensor(shape: [end - start] + inputs.sampleShape, storage: Array(inputs.storage[(start * size)..<(end * size)]))
      result += try source.model.logits(inputs: batch).storage
    }
    return result
  }
}
