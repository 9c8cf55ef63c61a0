import Foundation

extension RunIdentity {
  /// What a journal with this identity can hold: the number of tiles b(b+1)/2 and the raw bytes
  /// of the largest tile (min(t, n)·m)²·s — computed with overflow checks and without building the
  /// plan, since the numbers come from a file. `nil` when they are impossible (n, t or m below 1,
  /// more than `TilePlan.maximumBlockCount` blocks a side, or a matrix whose byte size overflows).
  /// A cross run (`columnSampleCount` n_c): b·b_c tiles, the largest min(t, n)·m × min(t, n_c)·m.
  var recordBounds: (tileCount: Int, largestTileBytes: Int)? {
    let (n, t, m) = (sampleCount, tileSamples, outputsPerSample)
    let nc = columnSampleCount ?? n
    guard n >= 1, nc >= 1, t >= 1, m >= 1 else { return nil }
    let (side, o1) = n.multipliedReportingOverflow(by: m)
    let (columnSide, o4) = nc.multipliedReportingOverflow(by: m)
    let (square, o2) = side.multipliedReportingOverflow(by: columnSide)
    let (_, o3) = square.multipliedReportingOverflow(by: precision.byteSize)
    guard !o1, !o2, !o3, !o4 else { return nil }
    let blocks = TilePlan.blockCount(sampleCount: n, tileSamples: t)
    let columnBlocks = TilePlan.blockCount(sampleCount: nc, tileSamples: t)
    guard blocks <= TilePlan.maximumBlockCount, columnBlocks <= TilePlan.maximumBlockCount else { return nil }
    let tiles = isCross ? blocks * columnBlocks : kernel == .diagonal ? blocks : blocks * (blocks + 1) / 2
    return (tiles, kernel.tileByteCount(rows: min(t, n), columns: min(t, nc), outputs: m, scalarBytes: precision.byteSize))
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
  /// (I, J) = (`rowBlock`, `columnBlock`) (its raw size is checked against the plan when a
  /// session opens, `RunSession.open`). Closed form of
  /// `TilePlan`'s row-major upper-triangle order, index(I, J) = I·b − I(I−1)/2 + (J − I).
  /// A cross run's plan: I < b, J < b_c, index(I, J) = I·b_c + J.
  func planProblem(_ identity: RunIdentity) -> String? {
    let (n, t) = (identity.sampleCount, identity.tileSamples)
    let b = TilePlan.blockCount(sampleCount: n, tileSamples: t)
    if let nc = identity.columnSampleCount {
      let bc = TilePlan.blockCount(sampleCount: nc, tileSamples: t)
      guard rowBlock < b, columnBlock < bc else { return "blocks: expected I < \(b), J < \(bc), found I=\(rowBlock), J=\(columnBlock)" }
      let expectedIndex = rowBlock * bc + columnBlock
      guard expectedIndex == index else {
        return "position: tile \(index) is not (I=\(rowBlock), J=\(columnBlock)) in the plan ((\(rowBlock), \(columnBlock)) is tile \(expectedIndex))"
      }
      return nil
    }
    guard columnBlock < b else { return "blocks: expected J < \(b), found I=\(rowBlock), J=\(columnBlock)" }
    if identity.kernel == .diagonal {  // one tile (I, I) per block, index I
      guard rowBlock == columnBlock, index == rowBlock else {
        return "position: tile \(index) is not (I=\(rowBlock), J=\(columnBlock)) in the plan of the diagonal kernel (tile k is (k, k))"
      }
      return nil
    }
    let expectedIndex = rowBlock * b - rowBlock * (rowBlock - 1) / 2 + (columnBlock - rowBlock)
    guard expectedIndex == index else {
      return "position: tile \(index) is not (I=\(rowBlock), J=\(columnBlock)) in the plan ((\(rowBlock), \(columnBlock)) is tile \(expectedIndex))"
    }
    return nil
  }

  /// Why this record's raw size differs from its plan tile's (position already checked by
  /// `planProblem`), or `nil`. `repair` cuts such a record; `RunSession.open` refuses it.
  func planSizeProblem(_ identity: RunIdentity) -> String? {
    let (n, t, m) = (identity.sampleCount, identity.tileSamples, identity.outputsPerSample)
    let rows = TilePlan.samples(ofBlock: rowBlock, sampleCount: n, tileSamples: t).count
    let columns = TilePlan.samples(ofBlock: columnBlock, sampleCount: identity.columnSampleCount ?? n, tileSamples: t).count
    let expected = identity.kernel.tileByteCount(rows: rows, columns: columns, outputs: m, scalarBytes: identity.precision.byteSize)
    return expected == rawByteCount ? nil : "rawByteCount: tile (\(rowBlock), \(columnBlock)) holds \(expected) bytes in the plan, found \(rawByteCount)"
  }
}
