import XCTest

@testable import Engine

/// `TileSource` with `columnInputs` (cross kernels): each tile equals the corresponding block of
/// the square source over the concatenated samples (float64 rounding), no tile is mirrored, the
/// whole-block and layer-streaming strategies agree byte for byte, and each side's blocks are
/// computed once when the cache holds the column blocks.
final class CrossTileSourceTests: XCTestCase {
  func testCrossTilesEqualTheBlocksOfTheSquareKernelOverBothSampleSets() throws {
    var lenet = try ModelZoo.make(name: "lenet", width: 0, scalar: Double.self)
    lenet.initialize(seed: 1)
    var random = TestRandom(seed: 3)
    let (n, nc, t) = (7, 5, 3)  // row blocks 3, 3, 1; column blocks 3, 2
    let both: Tensor<Double> = random.tensor([n + nc, 3, 32, 32]).converted(to: Double.self)
    let size = both.sampleSize
    let rows = Tensor(shape: [n, 3, 32, 32], storage: Array(both.storage[0..<(n * size)]))
    let columns = Tensor(shape: [nc, 3, 32, 32], storage: Array(both.storage[(n * size)...]))
    let m = 10
    let whole = n + nc
    let square = TileSource(model: lenet, inputs: both, scale: 0.5, tileSamples: whole, strategy: .wholeBlocks, cacheBytes: 0)
    let g = try square.tile(rowBlock: 0, columnBlock: 0)  // [(n+nc)·m, (n+nc)·m]
    let scale = g.map(abs).max() ?? 0
    XCTAssertGreaterThan(scale, 0)
    for strategy in [TileStrategy.wholeBlocks, .layerStreaming] {
      let cross = TileSource(model: lenet, inputs: rows, scale: 0.5, tileSamples: t, strategy: strategy, cacheBytes: 1 << 30,
                             columnInputs: columns)
      XCTAssertTrue(cross.isCross)
      XCTAssertEqual(cross.blockCount, 3)
      XCTAssertEqual(cross.columnBlockCount, 2)
      XCTAssertEqual(cross.samples(ofColumnBlock: 1), 3..<5)
      var tiles: [[Double]] = []
      for I in 0..<3 {
        for J in 0..<2 {
          let tile = try cross.tile(rowBlock: I, columnBlock: J)
          tiles.append(tile)
          let rowSamples = cross.samples(ofBlock: I), columnSamples = cross.samples(ofColumnBlock: J)
          let width = columnSamples.count * m
          XCTAssertEqual(tile.count, rowSamples.count * m * width)
          for r in 0..<(rowSamples.count * m) {
            for c in 0..<width {
              let expected = g[(rowSamples.lowerBound * m + r) * whole * m + (n + columnSamples.lowerBound) * m + c]
              XCTAssertEqual(tile[r * width + c], expected, accuracy: 1e-12 * scale, "\(strategy) (\(I), \(J)) [\(r), \(c)]")
            }
          }
        }
      }
      // Each row block once, each column block once (cached across rows).
      XCTAssertEqual(cross.statistics.blocksComputed, 3 + 2, "\(strategy)")
      XCTAssertEqual(cross.statistics.samplesComputed, n + nc)
      XCTAssertThrowsError(try cross.tile(rowBlock: 0, columnBlock: 2))
      // Uncached: the same bytes, column blocks recomputed for every row.
      let uncached = TileSource(model: lenet, inputs: rows, scale: 0.5, tileSamples: t, strategy: strategy, cacheBytes: 0, columnInputs: columns)
      var again: [[Double]] = []
      for I in 0..<3 { for J in 0..<2 { again.append(try uncached.tile(rowBlock: I, columnBlock: J)) } }
      XCTAssertEqual(again, tiles, "\(strategy)")
      XCTAssertEqual(uncached.statistics.blocksComputed, 3 + 6)
    }
  }

  /// The memory model of a cross kernel holds both datasets and always two blocks (a square run
  /// with t ≥ n holds one): exactly one more block and the column samples' inputs (twice, as the
  /// dataset term counts them).
  func testMemoryPlanOfACrossKernelHoldsBothDatasetsAndTwoBlocks() throws {
    let lenet = try ModelZoo.make(name: "lenet", width: 0, scalar: Float.self)
    let (n, nc, t) = (5, 3, 5)
    let square = TileMemoryPlan.working(lenet, n: n, t: t, strategy: .wholeBlocks, base: 0)
    let cross = TileMemoryPlan.working(lenet, n: n, t: t, strategy: .wholeBlocks, base: 0, columnSampleCount: nc)
    let choice = ContractionChoice.make(model: lenet, tileSamples: t)
    XCTAssertEqual(cross - square, 4 * (2 * nc * 3 * 32 * 32 + lenet.jacobianScalarCount(samples: t, choice: choice)))
    // tileSamples "auto" may grow to the larger side (here the columns).
    let plan = try TileMemoryPlan.make(model: lenet, sampleCount: 4, budgetBytes: 1 << 34, baseBytes: 0, tileSamples: nil, columnSampleCount: 9)
    XCTAssertEqual(plan.tileSamples, 9)
  }
}
