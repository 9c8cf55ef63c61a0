import Foundation
import XCTest
import Datasets
@testable import Checkpoint

/// The cross plan (manifest `columns`): every block pair, row-major, nothing mirrored; its
/// journal bounds; and backward compatibility — square manifests, identities and plans are
/// exactly what they were before `columns` existed.
final class CrossPlanTests: XCTestCase {
  /// Every element of K(rows, columns) covered exactly once by a tile, in row-major block order.
  func testCrossPlanCoversTheRectangleOnceInRowMajorOrder() throws {
    for (n, nc, t) in [(1, 1, 1), (20, 30, 7), (13, 9, 4), (5, 12, 100), (7, 3, 2), (3, 7, 2)] {
      let m = 3
      let plan = try TilePlan(sampleCount: n, columnSampleCount: nc, tileSamples: t, precision: .float64, outputsPerSample: m)
      let (b, bc) = ((n + t - 1) / t, (nc + t - 1) / t)
      XCTAssertTrue(plan.isCross)
      XCTAssertEqual(plan.blockCount, b)
      XCTAssertEqual(plan.columnBlockCount, bc)
      XCTAssertEqual(plan.tiles.count, b * bc)
      XCTAssertEqual(plan.dimension, n * m)
      XCTAssertEqual(plan.columnDimension, nc * m)
      XCTAssertEqual(plan.samplePairs, n * nc)
      var hits = [Int](repeating: 0, count: n * m * nc * m)
      for (k, tile) in plan.tiles.enumerated() {
        XCTAssertEqual(tile.index, k)
        XCTAssertEqual(k, tile.rowBlock * bc + tile.columnBlock)
        XCTAssertFalse(tile.isDiagonal, "a cross tile is never symmetric")
        XCTAssertEqual(tile.samplePairs, tile.rows.count * tile.columns.count)
        XCTAssertEqual(plan.index(rowBlock: tile.rowBlock, columnBlock: tile.columnBlock), k)
        XCTAssertEqual(plan.storedTile(rowBlock: tile.rowBlock, columnBlock: tile.columnBlock)?.index, k)
        XCTAssertEqual(plan.storedTile(rowBlock: tile.rowBlock, columnBlock: tile.columnBlock)?.transposed, false)
        XCTAssertEqual(tile.rawByteCount, tile.rows.count * m * tile.columns.count * m * 8)
        for r in (tile.rows.lowerBound * m)..<(tile.rows.upperBound * m) {
          for c in (tile.columns.lowerBound * m)..<(tile.columns.upperBound * m) { hits[r * nc * m + c] += 1 }
        }
      }
      XCTAssertEqual(hits, [Int](repeating: 1, count: hits.count), "n=\(n) nc=\(nc) t=\(t)")
      XCTAssertNil(plan.index(rowBlock: b, columnBlock: 0))
      XCTAssertNil(plan.index(rowBlock: 0, columnBlock: bc))
      // The identity plans the same, and its journal bounds admit exactly these tiles.
      let identity = RunIdentity(manifestHash: testHash("m"), weightsHash: testHash("w"), inputDataHash: testHash("i"),
                                 sampleCount: n, tileSamples: t, precision: .float64, normalization: .none, outputsPerSample: m,
                                 columnSampleCount: nc, columnInputDataHash: testHash("c"))
      XCTAssertEqual(try identity.plan(), plan)
      let bounds = try XCTUnwrap(identity.recordBounds)
      XCTAssertEqual(bounds.tileCount, b * bc)
      for tile in plan.tiles {
        let record = TileRecord(index: tile.index, rowBlock: tile.rowBlock, columnBlock: tile.columnBlock, object: testHash("o"),
                                rawByteCount: tile.rawByteCount, storedByteCount: 10, computeSeconds: 1)
        XCTAssertNil(record.boundsProblem(bounds, cross: true))
        XCTAssertNil(record.planProblem(identity))
        XCTAssertNil(record.planSizeProblem(identity))
      }
      if b > 1 {  // (1, 0) exists in a cross plan (I > J), at index b_c
        let record = TileRecord(index: 0, rowBlock: 1, columnBlock: 0, object: testHash("o"), rawByteCount: 8, storedByteCount: 1, computeSeconds: 0)
        XCTAssertNotNil(record.planProblem(identity))
      }
    }
  }

  /// A square run keeps its manifest canonical JSON, its identity JSON (no new keys, and a header
  /// written before decodes) and its plan; a cross identity differs from the square one.
  func testSquareRunsAreUnchanged() throws {
    let json = #"{"name": "demo", "dataset": {"name": "mnist", "root": "d", "subsample": 10}, "model": {"name": "lenet"}, "ntk": {"tileSamples": 5}}"#
    let manifest = try Manifest.parse(Array(json.utf8), file: "m.json", knownModels: nil, knownDatasets: DatasetKind.manifestNames)
    XCTAssertNil(manifest.columns)
    XCTAssertEqual(String(decoding: manifest.canonicalJSON(), as: UTF8.self),
                   #"{"dataset":{"name":"mnist","root":"d","subsample":10},"model":{"name":"lenet","seed":0,"width":64},"name":"demo","ntk":{"normalization":"sqrt-params","precision":"float32","tileSamples":5}}"#)
    let withColumns = try Manifest.parse(Array(json.replacingOccurrences(of: #""ntk""#, with: #""columns": {"name": "mnist", "root": "d", "subsample": 4, "download": true}, "ntk""#).utf8),
                                         file: "m.json", knownModels: nil, knownDatasets: DatasetKind.manifestNames)
    XCTAssertEqual(withColumns.columns, Manifest.Dataset(name: "mnist", root: "d", subsample: 4, download: true))
    let canonical = String(decoding: withColumns.canonicalJSON(), as: UTF8.self)
    XCTAssertTrue(canonical.hasPrefix(#"{"columns":{"name":"mnist","root":"d","subsample":4},"dataset""#), canonical)
    XCTAssertNotEqual(withColumns.canonicalHash, manifest.canonicalHash)

    let square = RunIdentity(manifestHash: testHash("m"), weightsHash: testHash("w"), inputDataHash: testHash("i"),
                             sampleCount: 10, tileSamples: 5, precision: .float32, normalization: .sqrtParams)
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let encoded = String(decoding: try encoder.encode(square), as: UTF8.self)
    XCTAssertFalse(encoded.contains("column"), encoded)
    XCTAssertEqual(try JSONDecoder().decode(RunIdentity.self, from: Data(encoded.utf8)), square)
    XCTAssertEqual(try square.plan(), try TilePlan(sampleCount: 10, tileSamples: 5, precision: .float32))
    XCTAssertFalse(try square.plan().isCross)
    XCTAssertEqual(try square.plan().tiles.map(\.isDiagonal), [true, false, true])
    var cross = square
    cross.columnSampleCount = 4
    cross.columnInputDataHash = testHash("c")
    XCTAssertEqual(cross.differences(from: square).count, 2, "\(cross.differences(from: square))")
    XCTAssertTrue(cross.differences(from: square)[0].contains("column sample count (run has none (square eNTK), now 4)"))
  }
}
