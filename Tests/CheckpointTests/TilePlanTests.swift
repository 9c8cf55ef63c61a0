import XCTest
@testable import Checkpoint

final class TilePlanTests: XCTestCase {
  /// Every upper-triangle element (sample pair and output pair) is covered exactly once.
  func testUpperTriangleCoveredExactlyOnce() throws {
    for (n, t) in [(1, 1), (1, 5), (7, 3), (10, 5), (10, 10), (11, 4), (23, 7), (5, 100), (30, 1)] {
      let m = 3
      let plan = try TilePlan(sampleCount: n, tileSamples: t, precision: .float32, outputsPerSample: m)
      let b = (n + t - 1) / t
      XCTAssertEqual(plan.blockCount, b)
      XCTAssertEqual(plan.tiles.count, b * (b + 1) / 2, "n=\(n) t=\(t)")
      let d = n * m
      var hits = [Int](repeating: 0, count: d * d)
      for (k, tile) in plan.tiles.enumerated() {
        XCTAssertEqual(tile.index, k)
        XCTAssertLessThanOrEqual(tile.rowBlock, tile.columnBlock)
        XCTAssertEqual(plan.index(rowBlock: tile.rowBlock, columnBlock: tile.columnBlock), k)
        XCTAssertEqual(tile.rawByteCount, tile.rows.count * m * tile.columns.count * m * 4)
        for r in (tile.rows.lowerBound * m)..<(tile.rows.upperBound * m) {
          for c in (tile.columns.lowerBound * m)..<(tile.columns.upperBound * m) { hits[r * d + c] += 1 }
        }
      }
      // Block-upper triangle: each element with block(r) ≤ block(c) exactly once, others never;
      // together with the mirrored off-diagonal tiles every element is covered exactly once.
      for r in 0..<d {
        for c in 0..<d {
          let expected = (r / m) / t <= (c / m) / t ? 1 : 0
          XCTAssertEqual(hits[r * d + c], expected, "n=\(n) t=\(t) (\(r), \(c))")
          let mirrored = hits[r * d + c] + ((r / m) / t != (c / m) / t ? hits[c * d + r] : 0)
          XCTAssertEqual(mirrored, 1, "n=\(n) t=\(t) (\(r), \(c)) with mirror")
        }
      }
      XCTAssertEqual(plan.tiles.reduce(0) { $0 + $1.samplePairs }, n * (n + 1) / 2)
      XCTAssertEqual(plan.samplePairs, n * (n + 1) / 2)
    }
  }

  func testOrderSizesAndLastShortBlock() throws {
    let plan = try TilePlan(sampleCount: 25, tileSamples: 10, precision: .float64)
    XCTAssertEqual(plan.tiles.map { [$0.rowBlock, $0.columnBlock] }, [[0, 0], [0, 1], [0, 2], [1, 1], [1, 2], [2, 2]])
    XCTAssertEqual(plan.tiles[2].rows, 0..<10)
    XCTAssertEqual(plan.tiles[2].columns, 20..<25)
    XCTAssertEqual(plan.tiles[2].rawByteCount, 100 * 50 * 8)
    XCTAssertEqual(plan.tiles[5].rawByteCount, 50 * 50 * 8)
    XCTAssertEqual(plan.tiles[5].samplePairs, 15)
    XCTAssertEqual(plan.dimension, 250)
    XCTAssertEqual(plan.rawByteCount, (3 * 100 * 100 + 2 * 100 * 50 + 50 * 50) * 8)
    XCTAssertNil(plan.index(rowBlock: 1, columnBlock: 0))
    XCTAssertNil(plan.index(rowBlock: 0, columnBlock: 3))
  }

  func testInvalidPlansAreErrors() {
    XCTAssertThrowsError(try TilePlan(sampleCount: 0, tileSamples: 10, precision: .float32))
    XCTAssertThrowsError(try TilePlan(sampleCount: 10, tileSamples: 0, precision: .float32))
  }

  /// A journal's records are checked against `RunIdentity.tileGrid` without a plan: for every kind
  /// of plan the grid has exactly the plan's tiles (index, position, raw size), every grid cell
  /// outside the plan has no index, and the records of the plan pass `planProblem` while a record
  /// moved to another position does not.
  func testTheJournalsGridIsThePlansTileOrder() throws {
    for (n, nc, t, kernel) in [(23, nil, 7, KernelVariant.full), (10, nil, 10, .trace), (11, nil, 4, .diagonal),
                               (9, 14, 4, .full), (5, 3, 2, .pseudo), (1, nil, 5, .full)] as [(Int, Int?, Int, KernelVariant)] {
      let identity = RunIdentity(manifestHash: testHash("m"), weightsHash: testHash("w"), inputDataHash: testHash("d"),
                                 sampleCount: n, tileSamples: t, precision: .float64, normalization: .none,
                                 columnSampleCount: nc, columnInputDataHash: nc.map { _ in testHash("c") }, kernel: kernel)
      let plan = try identity.plan()
      let grid = try XCTUnwrap(identity.tileGrid)
      XCTAssertEqual(grid.tileCount, plan.tiles.count)
      XCTAssertEqual(identity.recordBounds?.largestTileBytes, plan.tiles.map(\.rawByteCount).max())
      var indexed = 0
      for I in -1...grid.blockCount {
        for J in -1...grid.columnBlockCount {
          guard let k = grid.index(rowBlock: I, columnBlock: J) else { continue }
          indexed += 1
          let tile = plan.tiles[k]
          XCTAssertEqual([tile.rowBlock, tile.columnBlock], [I, J], "n=\(n) nc=\(String(describing: nc)) \(kernel)")
          XCTAssertEqual(grid.rawByteCount(rowBlock: I, columnBlock: J), tile.rawByteCount)
          let record = TileRecord(index: k, rowBlock: I, columnBlock: J, object: testHash("o"),
                                  rawByteCount: tile.rawByteCount, storedByteCount: 1, computeSeconds: 0)
          XCTAssertNil(record.planProblem(identity))
          XCTAssertNil(record.planSizeProblem(identity))
          if plan.tiles.count > 1 {
            let moved = TileRecord(index: (k + 1) % plan.tiles.count, rowBlock: I, columnBlock: J, object: testHash("o"),
                                   rawByteCount: tile.rawByteCount, storedByteCount: 1, computeSeconds: 0)
            XCTAssertNotNil(moved.planProblem(identity))
          }
        }
      }
      XCTAssertEqual(indexed, plan.tiles.count, "n=\(n) nc=\(String(describing: nc)) \(kernel)")
    }
  }
}
