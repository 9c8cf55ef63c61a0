import XCTest

@testable import Engine

/// The kernel variants (`NTKVariant`) at tile level, float64: every `trace`, `pseudo` and
/// `diagonal` tile equals the reduction of the `full` tiles of the same blocks (≤ 1e-12
/// relative) — pseudo from its ONE reverse pass per sample with cotangent `(1/√m)·(1, …, 1)` —
/// with every layer explicit and with every Linear/Conv2d layer structured, from whole blocks and
/// from layer-streamed factors (byte-identical to whole blocks); and the cost model's FLOP.
final class KernelVariantTileTests: XCTestCase {
  let m = 10

  func model(_ name: String, width: Int) throws -> Model<Double> {
    var model = try ModelZoo.make(name: name, width: width, scalar: Double.self)
    model.initialize(seed: 3)
    return model
  }

  func inputs(_ samples: Int) -> Tensor<Double> {
    var random = TestRandom(seed: 5)
    return random.tensor([samples, 3, 32, 32])
  }

  /// G[I, J] reduced as `variant` says, from the full tile `[n_I·m, n_J·m]`.
  func reduce(_ g: [Double], rows nI: Int, columns nJ: Int, _ variant: NTKVariant) -> [Double] {
    let width = nJ * m
    switch variant {
    case .full: return g
    case .trace:
      return (0..<nI).flatMap { i in (0..<nJ).map { j in (0..<m).reduce(0.0) { $0 + g[(i * m + $1) * width + j * m + $1] } } }
    case .pseudo:
      return (0..<nI).flatMap { i in
        (0..<nJ).map { j in
          var s = 0.0
          for a in 0..<m { for b in 0..<m { s += g[(i * m + a) * width + j * m + b] } }
          return s / Double(m)
        }
      }
    case .diagonal:
      return (0..<nI).flatMap { i in (0..<m).flatMap { a in (0..<m).map { b in g[(i * m + a) * width + i * m + b] } } }
    }
  }

  /// Every tile of every variant against the full tiles, for 7 samples in blocks of 3 (3, 3, 1:
  /// diagonal, off-diagonal and ragged tiles).
  func check(_ net: Model<Double>, choice: ContractionChoice, label: String) throws {
    let x = inputs(7)
    let full = TileSource(model: net, inputs: x, scale: 0.25, tileSamples: 3, strategy: .wholeBlocks, cacheBytes: 1 << 30,
                          choice: choice)
    for variant in [NTKVariant.trace, .pseudo, .diagonal] {
      let whole = TileSource(model: net, inputs: x, scale: 0.25, tileSamples: 3, strategy: .wholeBlocks, cacheBytes: 1 << 30,
                             choice: choice, variant: variant)
      let streamed = TileSource(model: net, inputs: x, scale: 0.25, tileSamples: 3, strategy: .layerStreaming, cacheBytes: 0,
                                choice: choice, variant: variant)
      for i in 0..<3 {
        for j in i..<(variant == .diagonal ? i + 1 : 3) {
          let (nI, nJ) = (full.samples(ofBlock: i).count, full.samples(ofBlock: j).count)
          let expected = reduce(try full.tile(rowBlock: i, columnBlock: j), rows: nI, columns: nJ, variant)
          let tile = try whole.tile(rowBlock: i, columnBlock: j)
          XCTAssertEqual(tile.count, variant.tileScalarCount(rows: nI, columns: nJ, outputs: m), "\(label) \(variant) (\(i), \(j))")
          XCTAssertLessThan(relativeFrobeniusError(tile, expected), 1e-12, "\(label) \(variant) (\(i), \(j))")
          XCTAssertGreaterThan(expected.map(abs).max() ?? 0, 0, "\(label) \(variant) (\(i), \(j)): a zero tile proves nothing")
          XCTAssertEqual(try streamed.tile(rowBlock: i, columnBlock: j), tile, "\(label) \(variant) (\(i), \(j)) streamed")
        }
      }
      // pseudo: one reverse-pass row per sample, so its blocks hold 1/m of the rows.
      if variant == .pseudo {
        XCTAssertEqual(try net.jacobian(inputs: x, choice: choice, variant: .pseudo).rowCount, 7, label)
      }
    }
    XCTAssertThrowsError(try TileSource(model: net, inputs: x, scale: 1, tileSamples: 3, strategy: .wholeBlocks, cacheBytes: 0,
                                        variant: .diagonal).tile(rowBlock: 0, columnBlock: 1))
  }

  func testLeNetVariantsEqualReducedFullTilesExplicitAndStructured() throws {
    let lenet = try model("lenet", width: 0)
    try check(lenet, choice: .allExplicit(model: lenet), label: "lenet explicit")
    try check(lenet, choice: .allStructured(model: lenet), label: "lenet structured")
  }

  func testResNet18VariantsEqualReducedFullTilesExplicitAndStructured() throws {
    let resnet = try model("resnet18", width: 2)
    try check(resnet, choice: .allExplicit(model: resnet), label: "resnet18 explicit")
    try check(resnet, choice: .allStructured(model: resnet), label: "resnet18 structured")
    // The per-layer choice TileSource makes by itself for each variant (pseudo and trace: m = 1).
    try check(resnet, choice: ContractionChoice.make(model: resnet, tileSamples: 3, outputs: 1), label: "resnet18 chosen m=1")
  }

  /// The pseudo eNTK is the eNTK of f̄ = Σ_a f_a/√m: its Jacobian row is (1/√m) Σ_a J_a.
  func testPseudoJacobianIsTheScaledSumOfTheClassRows() throws {
    let net = try model("lenet", width: 0)
    let x = inputs(2)
    let full = try net.jacobian(inputs: x, choice: .allExplicit(model: net)).explicitRows()
    let pseudo = try net.jacobian(inputs: x, choice: .allExplicit(model: net), variant: .pseudo).explicitRows()
    let P = net.parameterCount
    let expected = (0..<2).flatMap { s in
      (0..<P).map { p in (0..<m).reduce(0.0) { $0 + full[(s * m + $1) * P + p] } / Double(m).squareRoot() }
    }
    XCTAssertLessThan(relativeFrobeniusError(pseudo, expected), 1e-13)
  }

  /// `TileCostModel`: pseudo pays one reverse pass per sample and one contraction per pair;
  /// trace the full Jacobian and m one-output contractions; diagonal only same-sample pairs.
  func testCostModelOfTheVariants() throws {
    let lenet = try model("lenet", width: 0)
    let full = TileCostModel(model: lenet, tileSamples: 100, sampleCount: 1000)
    let pseudo = TileCostModel(model: lenet, tileSamples: 100, sampleCount: 1000, variant: .pseudo)
    let trace = TileCostModel(model: lenet, tileSamples: 100, sampleCount: 1000, variant: .trace)
    let diagonal = TileCostModel(model: lenet, tileSamples: 100, sampleCount: 1000, variant: .diagonal)
    XCTAssertEqual(pseudo.jacobianFLOP(samples: 100) / full.jacobianFLOP(samples: 100), 3.0 / 21.0, accuracy: 1e-12)
    XCTAssertEqual(trace.jacobianFLOP(samples: 100), full.jacobianFLOP(samples: 100))
    let f = full.contractionFLOP(rowSamples: 100, columnSamples: 100, isDiagonal: false)
    let p = pseudo.contractionFLOP(rowSamples: 100, columnSamples: 100, isDiagonal: false)
    let t = trace.contractionFLOP(rowSamples: 100, columnSamples: 100, isDiagonal: false)
    XCTAssertEqual(t, Double(m) * p, accuracy: 1e-6 * t)
    XCTAssertLessThan(p, f / 50)  // LeNet's explicit convolutions: m² = 100 times fewer rows pairs
    let explicit = Double(456 + 2416)  // conv1 + conv2 columns
    XCTAssertEqual(diagonal.contractionFLOP(rowSamples: 100, columnSamples: 100, isDiagonal: true),
                   100 * (100 * explicit + 2 * 100 * Double(120 + 84 + 10) + 2 * Double(400 + 120 + 84) + 2 * 100 * 3), accuracy: 1)
  }
}
