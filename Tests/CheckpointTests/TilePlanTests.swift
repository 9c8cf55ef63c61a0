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
}
