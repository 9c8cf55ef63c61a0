import XCTest

@testable import Engine

/// `TileSource`: tiles equal byte for byte whether column blocks are cached or recomputed and
/// whether whole Jacobian blocks or layer-streamed factors are contracted; tiled equals untiled.
final class TileSourceTests: XCTestCase {
  func model<T: BLASScalar>(_ name: String, width: Int = 0, _: T.Type) throws -> Model<T> {
    var model = try ModelZoo.make(name: name, width: width, scalar: T.self)
    model.initialize(seed: 1)
    return model
  }

  func inputs<T: BLASScalar>(_ samples: Int, _: T.Type) -> Tensor<T> {
    var random = TestRandom(seed: 2)
    return random.tensor([samples, 3, 32, 32]).converted(to: T.self)
  }

  /// Every tile of the upper triangle, row by row, as raw bytes.
  func allTiles<T: BLASScalar>(_ source: TileSource<T>) throws -> [[UInt8]] {
    var tiles: [[UInt8]] = []
    for i in 0..<source.blockCount {
      for j in i..<source.blockCount {
        tiles.append(try source.tile(rowBlock: i, columnBlock: j).withUnsafeBytes { Array($0) })
      }
    }
    return tiles
  }

  func testCachedTilesEqualUncachedTilesByteForByte() throws {
    let lenet = try model("lenet", Float.self)
    let x = inputs(17, Float.self)
    let uncached = TileSource(model: lenet, inputs: x, scale: 0.5, tileSamples: 4, strategy: .wholeBlocks, cacheBytes: 0)
    let cached = TileSource(model: lenet, inputs: x, scale: 0.5, tileSamples: 4, strategy: .wholeBlocks, cacheBytes: 1 << 30)
    XCTAssertEqual(uncached.blockCount, 5)
    let a = try allTiles(uncached), b = try allTiles(cached)
    XCTAssertEqual(a.count, 15)
    XCTAssertEqual(a, b)
    // Uncached: one row block per row plus every off-diagonal column block; cached: each block once.
    XCTAssertEqual(uncached.statistics.blocksComputed, 15)
    XCTAssertEqual(cached.statistics.blocksComputed, 5)
    XCTAssertEqual(cached.statistics.samplesComputed, 17)
    XCTAssertEqual(cached.statistics.cacheHits, 10 - 4 + 4)  // 6 later-row column uses + 4 rows taken from the cache
  }

  func testCacheBoundLimitsWhatIsKeptButNotTheBytes() throws {
    let lenet = try model("lenet", Double.self)
    let x = inputs(12, Double.self)
    let oneBlock = lenet.jacobianScalarCount(samples: 3) * 8
    let full = TileSource(model: lenet, inputs: x, scale: 1, tileSamples: 3, strategy: .wholeBlocks, cacheBytes: 1 << 30)
    let tight = TileSource(model: lenet, inputs: x, scale: 1, tileSamples: 3, strategy: .wholeBlocks, cacheBytes: oneBlock)
    XCTAssertEqual(try allTiles(full), try allTiles(tight))
    XCTAssertEqual(full.statistics.blocksComputed, 4)
    // Room for one column block: row 0 computes 0, 1 (cached), 2, 3; row 1 takes 1 from the
    // cache, computes 2 (cached) and 3; row 2 takes 2 from the cache, computes 3 (cached);
    // row 3 takes 3 from the cache.
    XCTAssertEqual(tight.statistics.blocksComputed, 4 + 2 + 1 + 0)
  }

  /// `BlockCachePolicy.computations` (what `check` costs) names the blocks the source computes,
  /// for caches from none to all, with a short last block; and the closed form of one block's room.
  func testBlockCachePolicyPredictsTheBlocksTheSourceComputes() throws {
    let lenet = try model("lenet", Double.self)
    let x = inputs(14, Double.self)
    let oneBlock = lenet.jacobianScalarCount(samples: 3) * 8
    for cacheBytes in [0, oneBlock, 2 * oneBlock - 1, 2 * oneBlock + lenet.jacobianScalarCount(samples: 2) * 8, 1 << 30] {
      let source = TileSource(model: lenet, inputs: x, scale: 1, tileSamples: 3, strategy: .wholeBlocks, cacheBytes: cacheBytes)
      _ = try allTiles(source)
      var tiles: [(rows: Range<Int>, columns: Range<Int>)] = []
      for i in 0..<source.blockCount { for j in i..<source.blockCount { tiles.append((source.samples(ofBlock: i), source.samples(ofBlock: j))) } }
      let computed = BlockCachePolicy.computations(of: tiles, isCross: false, cacheBytes: cacheBytes) { lenet.jacobianScalarCount(samples: $0) * 8 }
      XCTAssertEqual(computed.count, source.statistics.blocksComputed, "cache \(cacheBytes)")
      XCTAssertEqual(computed.reduce(0) { $0 + $1.count }, source.statistics.samplesComputed, "cache \(cacheBytes)")
    }
    let blocks = (0..<4).map { $0 * 3 ..< $0 * 3 + 3 }
    let triangle = (0..<4).flatMap { i in (i..<4).map { (rows: blocks[i], columns: blocks[$0]) } }
    XCTAssertEqual(BlockCachePolicy.computations(of: triangle, isCross: false, cacheBytes: 10) { _ in 10 },
                   [blocks[0], blocks[1], blocks[2], blocks[3], blocks[2], blocks[3], blocks[3]])
    XCTAssertEqual(BlockCachePolicy.computations(of: triangle, isCross: false, cacheBytes: 0) { _ in 10 }.count, 4 + 3 + 2 + 1)
    // Cross: rows once each; columns cached across rows, never evicted (room for two of three).
    let cross = (0..<2).flatMap { i in (0..<3).map { (rows: blocks[i], columns: blocks[$0]) } }
    XCTAssertEqual(BlockCachePolicy.computations(of: cross, isCross: true, cacheBytes: 20) { _ in 10 },
                   [blocks[0], blocks[0], blocks[1], blocks[2], blocks[1], blocks[2]])
  }

  func testLayerStreamingEqualsWholeBlocksByteForByte() throws {
    for name in ["resnet18", "mobilenetv2"] {
      let net = try model(name, width: name == "resnet18" ? 4 : 0, Float.self)
      let x = inputs(3, Float.self)
      let whole = TileSource(model: net, inputs: x, scale: 1, tileSamples: 2, strategy: .wholeBlocks, cacheBytes: 0)
      let streamed = TileSource(model: net, inputs: x, scale: 1, tileSamples: 2, strategy: .layerStreaming, cacheBytes: 1 << 30)
      XCTAssertEqual(try allTiles(whole), try allTiles(streamed), name)
      XCTAssertEqual(streamed.statistics.blocksComputed, 2, name)
    }
  }

  /// Tile (i, j) of 10-sample blocks equals rows 100i ..< 100i+100, columns 100j ..< 100j+100 of
  /// one 40-sample tile (float64, to rounding: the summation splits differ).
  func testTiledMatchesSingleTile() throws {
    let lenet = try model("lenet", Double.self)
    let x = inputs(40, Double.self)
    let tiled = try allTiles(TileSource(model: lenet, inputs: x, scale: 1, tileSamples: 10, strategy: .wholeBlocks, cacheBytes: 1 << 30))
    let full = try TileSource(model: lenet, inputs: x, scale: 1, tileSamples: 40, strategy: .wholeBlocks, cacheBytes: 0)
      .tile(rowBlock: 0, columnBlock: 0)
    XCTAssertEqual(tiled.count, 10)
    var k = 0
    for i in 0..<4 {
      for j in i..<4 {
        let values = tiled[k].withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        let expected = (0..<100).flatMap { r in (0..<100).map { c in full[(100 * i + r) * 400 + 100 * j + c] } }
        XCTAssertLessThan(relativeFrobeniusError(values, expected), 1e-13, "tile (\(i), \(j))")
        k += 1
      }
    }
  }

  func testMemoryPlanPicksTheLargestTileThatFits() throws {
    let lenet = try model("lenet", Float.self)
    let budget = 64 << 20
    let plan = try TileMemoryPlan.make(model: lenet, sampleCount: 1000, budgetBytes: budget, baseBytes: 16 << 20, tileSamples: nil)
    XCTAssertEqual(plan.strategy, .wholeBlocks)
    XCTAssertLessThanOrEqual(plan.workingBytes, budget)
    XCTAssertEqual(plan.cacheBytes, budget - plan.workingBytes)
    XCTAssertGreaterThan(
      TileMemoryPlan.working(lenet, n: 1000, t: plan.tileSamples + 1, strategy: .wholeBlocks, base: 16 << 20), budget)
    // A requested tile is kept when it fits, refused (naming the bytes) when it does not.
    XCTAssertEqual(try TileMemoryPlan.make(model: lenet, sampleCount: 1000, budgetBytes: budget, baseBytes: 16 << 20, tileSamples: 10).tileSamples, 10)
    XCTAssertThrowsError(try TileMemoryPlan.make(model: lenet, sampleCount: 1000, budgetBytes: budget, baseBytes: 16 << 20, tileSamples: 1000)) { error in
      XCTAssertEqual((error as? EngineError)?.code, .memoryBudget)
      XCTAssertTrue("\(error)".contains("ntk.tileSamples 1000 needs about"), "\(error)")
    }
    XCTAssertThrowsError(try TileMemoryPlan.make(model: lenet, sampleCount: 1000, budgetBytes: 8 << 20, baseBytes: 16 << 20, tileSamples: nil)) { error in
      XCTAssertTrue("\(error)".contains("the smallest tile (one sample a side) needs about"), "\(error)")
    }
  }

  /// ResNet18 at width 64 (447 MB of explicit Jacobian per sample in float32) under 4 GiB: with
  /// explicit convolutions whole blocks fit only tiny tiles (layer streaming was chosen); with the
  /// structured last stages (`ContractionChoice`, layer2 on explicit) the whole n = 64 fits as one
  /// whole block.
  func testResNet18Width64UnderFourGiBStreamsLayers() throws {
    let net = try ModelZoo.make(name: "resnet18", width: 64, scalar: Float.self)
    XCTAssertEqual(net.jacobianScalarCount(samples: 1, structured: false), 10 * 11_173_962)
    let plan = try TileMemoryPlan.make(model: net, sampleCount: 64, budgetBytes: 4 << 30, baseBytes: 128 << 20, tileSamples: nil)
    XCTAssertEqual(plan.strategy, .wholeBlocks)
    XCTAssertEqual(plan.tileSamples, 64)  // all 64 samples in one diagonal tile (was 13, streamed)
    XCTAssertLessThanOrEqual(plan.workingBytes, 4 << 30)
    // Explicit convolutions at that tile size would need more than the budget for the blocks alone.
    XCTAssertGreaterThan(2 * 4 * net.jacobianScalarCount(samples: plan.tileSamples), 4 << 30)
  }
}
