import XCTest

@testable import Engine

/// `TileCostModel` (what `check` prints and `--shard` balances): LeNet's closed forms, the
/// explicit-part FLOP counted by a real `TileSource`, and cancellation between layers and BLAS calls.
final class TileCostModelTests: XCTestCase {
  func testLeNetClosedForms() throws {
    let lenet = try ModelZoo.make(name: "lenet", width: 0, scalar: Float.self)
    let cost = TileCostModel(model: lenet, tileSamples: 100, sampleCount: 1000)
    XCTAssertEqual(cost.structuredFLOPPerPair, 0, "LeNet's convolutions (L = 784, 100) stay explicit")
    // conv1 6·3·5·5 + 6, conv2 16·6·5·5 + 16 contracted explicitly; fc 400→120→84→10 by structure.
    XCTAssertEqual(cost.explicitColumns, 456 + 2416)
    XCTAssertEqual(cost.linearOutputs, 120 + 84 + 10)
    XCTAssertEqual(cost.linearInputs, 400 + 120 + 84)
    XCTAssertEqual(cost.linearLayers, 3)
    // The 5.7 + 0.44 GFLOP of an off-diagonal tile of 100 samples a side (TileKernel's figures).
    let offDiagonal = cost.contractionFLOP(rowSamples: 100, columnSamples: 100, isDiagonal: false)
    let structured: Double = 2e6 * 214 + 2e4 * 604 + 2e6 * 3
    XCTAssertEqual(offDiagonal, 2e6 * 2872 + structured)
    XCTAssertEqual(cost.contractionFLOP(rowSamples: 100, columnSamples: 100, isDiagonal: true),
                   1e6 * 2872 + structured, "SYRK: half the explicit GEMM")
    // Forward: 2·MAC of conv1 (6·3·25 at 28²) and conv2 (16·6·25 at 10²) and the Linear layers, plus
    // one FLOP per output element of the other nodes.
    let convolutions: Double = 6 * 3 * 25 * 784 + 16 * 6 * 25 * 100
    let linears: Double = 400 * 120 + 120 * 84 + 84 * 10
    let macs = 2 * (convolutions + linears)
    XCTAssertGreaterThan(cost.forwardFLOPPerSample, macs)
    XCTAssertLessThan(cost.forwardFLOPPerSample, macs * 1.05)
    XCTAssertEqual(cost.jacobianFLOP(samples: 100), 21 * cost.forwardFLOPPerSample * 100, accuracy: 1)
    XCTAssertEqual(cost.tileFLOP(rowSamples: 100, columnSamples: 40, isDiagonal: false),
                   cost.contractionFLOP(rowSamples: 100, columnSamples: 40, isDiagonal: false) + cost.jacobianFLOP(samples: 40))
  }

  func testExplicitPartFLOPMatchWhatTheTileSourceContracts() throws {
    var model = try ModelZoo.make(name: "resnet9", width: 4, scalar: Float.self)
    model.initialize(seed: 1)
    var random = TestRandom(seed: 3)
    let x = random.tensor([10, 3, 32, 32]).converted(to: Float.self)
    let source = TileSource(model: model, inputs: x, scale: 1, tileSamples: 4, strategy: .wholeBlocks, cacheBytes: 0)
    let cost = TileCostModel(model: model, tileSamples: 4, sampleCount: 10)
    XCTAssertEqual(cost, TileCostModel(model: model, choice: source.choice), "the choice TileSource makes")
    XCTAssertGreaterThan(cost.structuredFLOPPerPair, 0, "resnet9's last stages are contracted through their structure")
    for (i, j) in [(0, 0), (0, 2), (1, 2), (2, 2)] {
      let before = source.statistics.contractionFLOP
      _ = try source.tile(rowBlock: i, columnBlock: j)
      let (nI, nJ) = (source.samples(ofBlock: i).count, source.samples(ofBlock: j).count)
      let explicit = i == j ? Double(nI * nI * 100) * cost.explicitColumns : 2 * Double(nI * nJ * 100) * cost.explicitColumns
      let pairs = i == j ? Double(nI * (nI + 1) / 2) : Double(nI * nJ)
      let expected = explicit + pairs * cost.structuredFLOPPerPair
      XCTAssertEqual(source.statistics.contractionFLOP - before, expected, accuracy: expected * 1e-12, "tile (\(i), \(j))")
    }
  }

  func testACancelledTileThrowsAndTheNextTileIsUnchanged() throws {
    var model = try ModelZoo.make(name: "lenet", width: 0, scalar: Float.self)
    model.initialize(seed: 1)
    var random = TestRandom(seed: 4)
    let x = random.tensor([8, 3, 32, 32]).converted(to: Float.self)
    let reference = TileSource(model: model, inputs: x, scale: 1, tileSamples: 4, strategy: .wholeBlocks, cacheBytes: 0)
    let expected = try reference.tile(rowBlock: 0, columnBlock: 1)
    for strategy in [TileStrategy.wholeBlocks, .layerStreaming] {
      let source = TileSource(model: model, inputs: x, scale: 1, tileSamples: 4, strategy: strategy, cacheBytes: 0)
      let cancellation = TileCancellation()
      source.cancellation = cancellation
      cancellation.cancel()
      XCTAssertThrowsError(try source.tile(rowBlock: 0, columnBlock: 1)) { error in
        XCTAssertEqual((error as? EngineError)?.code, .cancelled)
      }
      source.cancellation = nil
      XCTAssertEqual(try source.tile(rowBlock: 0, columnBlock: 1), expected, "\(strategy)")
    }
  }
}
