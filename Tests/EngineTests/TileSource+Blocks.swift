import Checkpoint
import Engine

/// Engine tests address a `TileSource`'s tiles by block index (I, J); the samples of each block
/// are `TilePlan`'s, the ranges a run's tiles carry into the engine.
extension TileSource {
  /// Number of (row) blocks b = ⌈n/t⌉, t = `tileSamples`.
  var blockCount: Int { TilePlan.blockCount(sampleCount: inputs.batchSize, tileSamples: tileSamples) }

  /// Number of column blocks b_c = ⌈n_c/t⌉ (`blockCount` for the square eNTK).
  var columnBlockCount: Int { TilePlan.blockCount(sampleCount: (columnInputs ?? inputs).batchSize, tileSamples: tileSamples) }

  /// The samples of (row) block `index`.
  func samples(ofBlock index: Int) -> Range<Int> {
    TilePlan.samples(ofBlock: index, sampleCount: inputs.batchSize, tileSamples: tileSamples)
  }

  /// The samples of column block `index` (of `columnInputs` for a cross kernel).
  func samples(ofColumnBlock index: Int) -> Range<Int> {
    TilePlan.samples(ofBlock: index, sampleCount: (columnInputs ?? inputs).batchSize, tileSamples: tileSamples)
  }

  /// The tile of row block I and column block J (`tile(rows:columns:)` of their samples).
  ///
  /// - Throws: `EngineError.sampleRange` for a block outside `0 ..< blockCount` (columns:
  ///   `0 ..< columnBlockCount`), and what `tile(rows:columns:)` throws.
  func tile(rowBlock: Int, columnBlock: Int) throws -> [T] {
    guard (0..<blockCount).contains(rowBlock), (0..<columnBlockCount).contains(columnBlock) else {
      throw EngineError(.sampleRange, "tile (\(rowBlock), \(columnBlock)) outside the \(blockCount) × \(columnBlockCount) blocks")
    }
    return try tile(rows: samples(ofBlock: rowBlock), columns: samples(ofColumnBlock: columnBlock))
  }
}
