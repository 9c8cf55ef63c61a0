import Checkpoint
import Engine

/// Computes eNTK tiles for the runner: `G_IJ = s · J_I J_Jᵀ`, raw little-endian bytes of a
/// row-major `[n_I·10, n_J·10]` array in the run precision.
///
/// Tiles arrive row by row (I, then J ≥ I), so the Jacobian block of row block I is computed
/// once and kept for every tile of that row; a column block's Jacobian is computed per tile.
/// Deterministic: a tile's bytes depend only on the model, the inputs and the tile, never on
/// which tiles this process computed before (resumed runs are byte-identical).
final class EngineTileComputer<T: BLASScalar> {
  private let model: Model<T>
  private let inputs: Tensor<T>
  private let scale: T
  private var rowBlock: (index: Int, jacobian: JacobianBlock<T>)?

  /// - Parameters:
  ///   - inputs: `[n, 3, 32, 32]`.
  ///   - normalization: `none` (s = 1) or `sqrt-params` (s = 1/√P).
  init(model: Model<T>, inputs: Tensor<T>, normalization: KernelNormalization) {
    self.model = model
    self.inputs = inputs
    self.scale = normalization == .sqrtParams ? T(1 / Double(model.parameterCount).squareRoot()) : 1
  }

  /// The raw bytes of `tile`.
  func compute(_ tile: Tile) throws -> [UInt8] {
    let rows = try rowJacobian(tile)
    let columns = tile.isDiagonal ? rows : try model.jacobian(inputs: samples(tile.columns))
    let values = TileKernel.tile(rows: rows, columns: columns, isDiagonal: tile.isDiagonal, scale: scale)
    return values.withUnsafeBytes { Array($0) }
  }

  /// Logits of every sample, `[n, 10]`, in blocks of `blockSamples`.
  func logits(blockSamples: Int) throws -> [T] {
    let n = inputs.batchSize
    var result: [T] = []
    result.reserveCapacity(n * model.outputCount)
    for start in stride(from: 0, to: n, by: blockSamples) {
      result += try model.logits(inputs: samples(start..<min(n, start + blockSamples))).storage
    }
    return result
  }

  private func rowJacobian(_ tile: Tile) throws -> JacobianBlock<T> {
    if let cached = rowBlock, cached.index == tile.rowBlock { return cached.jacobian }
    rowBlock = nil  // release the previous row's Jacobian before computing the next
    let jacobian = try model.jacobian(inputs: samples(tile.rows))
    rowBlock = (tile.rowBlock, jacobian)
    return jacobian
  }

  private func samples(_ range: Range<Int>) -> Tensor<T> {
    let size = inputs.sampleSize
    return Tensor(shape: [range.count] + inputs.sampleShape,
                  storage: Array(inputs.storage[(range.lowerBound * size)..<(range.upperBound * size)]))
  }
}
