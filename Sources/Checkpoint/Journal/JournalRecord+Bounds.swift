import Foundation
import Storage

extension RunIdentity {
  /// The tile grid of this identity's plan (`TileGrid`: its checks, without building the tile
  /// list, since the numbers come from a file), or `nil` when it is impossible.
  var tileGrid: TileGrid? {
    try? TileGrid(sampleCount: sampleCount, columnSampleCount: columnSampleCount, tileSamples: tileSamples,
                  outputsPerSample: outputsPerSample, precision: precision, kernel: kernel)
  }

  /// What a journal with this identity can hold: the number of tiles and the raw bytes of the
  /// largest tile (`TileGrid`); `nil` when the plan is impossible.
  var recordBounds: (tileCount: Int, largestTileBytes: Int)? {
    tileGrid.map { ($0.tileCount, $0.largestTileByteCount) }
  }
}

extension TileRecord {
  /// Why this record cannot belong to a run with `bounds` (`RunIdentity.recordBounds`), or `nil`
  /// when its numbers are possible: index within the plan, 0 ≤ I ≤ J, a raw size of 1 byte up to
  /// the largest tile, a stored size up to twice that plus 1 MiB (zstd never expands more), and
  /// finite, non-negative compute seconds. Checked on replay so that no reader of the journal
  /// allocates, indexes or sums with a number a damaged (or hand-edited) record made up.
  /// (`cross`: a cross run's record, any 0 ≤ I, 0 ≤ J.)
  func boundsProblem(_ bounds: (tileCount: Int, largestTileBytes: Int), cross: Bool = false) -> String? {
    if !(0..<bounds.tileCount).contains(index) { return "index: expected 0..<\(bounds.tileCount), found \(index)" }
    if cross {
      if rowBlock < 0 || columnBlock < 0 { return "blocks: expected 0 ≤ I, 0 ≤ J, found I=\(rowBlock), J=\(columnBlock)" }
    } else if rowBlock < 0 || columnBlock < rowBlock { return "blocks: expected 0 ≤ I ≤ J, found I=\(rowBlock), J=\(columnBlock)" }
    if !(1...bounds.largestTileBytes).contains(rawByteCount) {
      return "rawByteCount: expected 1…\(bounds.largestTileBytes), found \(rawByteCount)"
    }
    let storedLimit = 2 * bounds.largestTileBytes + (1 << 20)
    if !(0...storedLimit).contains(storedByteCount) { return "storedByteCount: expected 0…\(storedLimit), found \(storedByteCount)" }
    if !computeSeconds.isFinite || computeSeconds < 0 {
      return "computeSeconds: expected a finite number ≥ 0, found \(computeSeconds)"
    }
    return nil
  }

  /// Why this record contradicts the plan of `identity` (whose `recordBounds` exist and which the
  /// record's `boundsProblem` passed), or `nil`: the tile at plan index `index` must be
  /// (I, J) = (`rowBlock`, `columnBlock`) in `TileGrid`'s order (its raw size is checked against
  /// the plan when a session opens, `RunSession.open`).
  func planProblem(_ identity: RunIdentity) -> String? {
    guard let grid = identity.tileGrid else { return "plan: impossible numbers in the journal header" }
    guard let expectedIndex = grid.index(rowBlock: rowBlock, columnBlock: columnBlock) else {
      let expected = grid.isCross ? "I < \(grid.blockCount), J < \(grid.columnBlockCount)"
        : grid.kernel == .diagonal ? "I = J < \(grid.blockCount)" : "I ≤ J < \(grid.blockCount)"
      return "blocks: expected \(expected), found I=\(rowBlock), J=\(columnBlock)"
    }
    guard expectedIndex == index else {
      return "position: tile \(index) is not (I=\(rowBlock), J=\(columnBlock)) in the plan ((\(rowBlock), \(columnBlock)) is tile \(expectedIndex))"
    }
    return nil
  }

  /// Why this record's raw size differs from its plan tile's (position already checked by
  /// `planProblem`), or `nil`. `repair` cuts such a record; `RunSession.open` refuses it.
  func planSizeProblem(_ identity: RunIdentity) -> String? {
    guard let expected = identity.tileGrid?.rawByteCount(rowBlock: rowBlock, columnBlock: columnBlock) else { return nil }
    return expected == rawByteCount ? nil : "rawByteCount: tile (\(rowBlock), \(columnBlock)) holds \(Plural.count(expected, "byte")) in the plan, found \(rawByteCount)"
  }
}
