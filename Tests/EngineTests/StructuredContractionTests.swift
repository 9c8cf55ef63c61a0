import CBLAS
import XCTest

@testable import Engine

/// The structured Conv2d contraction (`ConvolutionFactors`, `StructuredConvContraction`) against the
/// explicit rows, per layer type (stride 2, 1×1, 1×1 stride 2, depthwise, grouped, padding 0, with
/// and without bias, and stride-1 layers whose patch Gram is formed from their inputs: "same",
/// valid and over-padded), float64; the per-layer choice and the memory it counts.
final class StructuredContractionTests: XCTestCase {
  /// One Conv2d of every kind, then a Linear head (10 logits), input [3, 32, 32].
  func convolutionZoo() throws -> Model<Double> {
    var b = ModelBuilder<Double>(inputShape: [3, 32, 32])
    try b.layer("stride2", Conv2d<Double>(3, 8, kernelSize: 3, stride: 2, padding: 1, bias: true))  // [8, 16, 16]
    try b.layer("", Tanh<Double>())
    try b.layer("depthwise", Conv2d<Double>(8, 8, kernelSize: 3, stride: 1, padding: 1, groups: 8, bias: false))
    try b.layer("pointwise", Conv2d<Double>(8, 12, kernelSize: 1, bias: false))  // [12, 16, 16]
    try b.layer("", Tanh<Double>())
    try b.layer("same3x3", Conv2d<Double>(12, 12, kernelSize: 3, stride: 1, padding: 1, bias: true))  // PatchGram, "same"
    try b.layer("", Tanh<Double>())
    try b.layer("valid3x3", Conv2d<Double>(12, 12, kernelSize: 3, stride: 1, padding: 0, bias: false))  // PatchGram, [12, 14, 14]
    try b.layer("", Tanh<Double>())
    try b.layer("grouped", Conv2d<Double>(12, 12, kernelSize: 3, stride: 2, padding: 0, groups: 2, bias: true))  // [12, 6, 6]
    try b.layer("padding0", Conv2d<Double>(12, 6, kernelSize: 5, stride: 1, padding: 0, bias: true))  // [6, 2, 2]: patches cheaper
    try b.layer("", Tanh<Double>())
    try b.layer("wide", Conv2d<Double>(6, 6, kernelSize: 3, stride: 1, padding: 2, bias: true))  // PatchGram, [6, 4, 4]
    try b.layer("", Tanh<Double>())
    try b.layer("pointwise2", Conv2d<Double>(6, 6, kernelSize: 1, stride: 2, padding: 0, bias: false))  // [6, 2, 2]
    try b.layer("", Flatten<Double>())
    try b.layer("fc", Linear<Double>(24, 10))
    var model = b.build(name: "convzoo", width: 0)
    model.initialize(seed: 11)
    return model
  }

  /// Layer by layer, the structured tile contribution equals the explicit one to rounding, on
  /// off-diagonal and diagonal tiles, and the factors materialise to the explicit rows. Six row
  /// samples: a full stack of `StructuredConvContraction.stackRows` and a partial one (on the
  /// diagonal tile, pairs y < x inside a stack, which the mirror overwrites).
  func testEveryConvolutionKindMatchesExplicitRows() throws {
    let model = try convolutionZoo()
    var random = TestRandom(seed: 12)
    let a = random.tensor([6, 3, 32, 32]), b = random.tensor([2, 3, 32, 32])
    let structured = ContractionChoice.allStructured(model: model), explicit = ContractionChoice.allExplicit(model: model)
    XCTAssertEqual(structured.layers.filter(\.structured).count, 10)
    let sa = try model.jacobian(inputs: a, choice: structured), sb = try model.jacobian(inputs: b, choice: structured)
    let xa = try model.jacobian(inputs: a, choice: explicit), xb = try model.jacobian(inputs: b, choice: explicit)
    for (k, layer) in structured.layers.enumerated() {
      guard case .convolution(let factors) = sa.parts[k] else {
        if layer.path != "fc" { XCTFail("\(layer.path) not factored") }
        continue
      }
      XCTAssertEqual(factors.patchGram != nil, ["same3x3", "valid3x3", "wide"].contains(layer.path), layer.path)
      XCTAssertLessThan(relativeFrobeniusError(factors.explicitRows(repeats: 10), xa.parts[k].explicitRows(rowCount: 60, repeats: 10)),
                        1e-14, layer.path)
      for (diagonal, columnsS, columnsX, nJ) in [(false, sb, xb, 2), (true, sa, xa, 6)] {
        let s = contribution(sa.parts[k], columnsS.parts[k], nI: 6, nJ: nJ, diagonal: diagonal)
        let x = contribution(xa.parts[k], columnsX.parts[k], nI: 6, nJ: nJ, diagonal: diagonal)
        XCTAssertGreaterThan(x.map { $0 * $0 }.reduce(0, +), 0, layer.path)
        XCTAssertLessThan(relativeFrobeniusError(s, x), 1e-12, "\(layer.path) diagonal \(diagonal)")
      }
    }
    // Whole tiles, and the same blocks give the same bytes.
    let tile = TileKernel.tile(rows: sa, columns: sb, isDiagonal: false, scale: 1)
    XCTAssertLessThan(relativeFrobeniusError(tile, TileKernel.tile(rows: xa, columns: xb, isDiagonal: false, scale: 1)), 1e-12)
    let again = try model.jacobian(inputs: b, choice: structured)
    XCTAssertEqual(tile, TileKernel.tile(rows: sa, columns: again, isDiagonal: false, scale: 1))
    let diagonal = TileKernel.tile(rows: sa, columns: sa, isDiagonal: true, scale: 1)
    XCTAssertLessThan(relativeFrobeniusError(diagonal, TileKernel.tile(rows: xa, columns: xa, isDiagonal: true, scale: 1)), 1e-12)
    for r in 0..<60 { for c in 0..<60 { XCTAssertEqual(diagonal[r * 60 + c], diagonal[c * 60 + r]) } }
  }

  /// A structured tile is the same bytes on one core and on two: the stacks of row samples are
  /// fixed by the tile, not by the split over the cores (nine row samples: stacks of 4, 4 and 1).
  func testStructuredTilesDoNotDependOnTheCoreSplit() throws {
    let model = try convolutionZoo()
    var random = TestRandom(seed: 13)
    let structured = ContractionChoice.allStructured(model: model)
    let a = try model.jacobian(inputs: random.tensor([9, 3, 32, 32]), choice: structured)
    let b = try model.jacobian(inputs: random.tensor([5, 3, 32, 32]), choice: structured)
    let threads = openblas_get_num_threads()
    defer { openblas_set_num_threads(threads) }
    var tiles: [[[Double]]] = []
    for count in [1, 2] as [Int32] {
      openblas_set_num_threads(count)
      tiles.append([TileKernel.tile(rows: a, columns: a, isDiagonal: true, scale: 1),
                    TileKernel.tile(rows: a, columns: b, isDiagonal: false, scale: 1)])
    }
    XCTAssertEqual(tiles[0], tiles[1])
  }

  /// `PatchGram`: the shifted sums of the input Gram equal the patches' Gram `U_xᵀ U_y` for a
  /// chunk of two column samples, on a non-square image, "same" and over-padded; its patches
  /// equal the layer's im2col.
  func testPatchGramEqualsThePatchesGram() throws {
    for (kernel, padding) in [(3, 1), (3, 2), (2, 0)] {
      let (C, H, W, B) = (3, 5, 7, 3)
      let conv = Conv2d<Double>(C, 4, kernelSize: kernel, stride: 1, padding: padding, bias: false)
      let gram = PatchGram(channels: C, height: H, width: W, kernel: kernel, padding: padding)
      var random = TestRandom(seed: 41)
      let x = random.tensor([B, C, H, W])
      let HW = H * W, L = gram.positions
      var inputs = [Double](repeating: 0, count: C * B * HW)  // [C, B·H·W]
      for n in 0..<B { for c in 0..<C { for u in 0..<HW { inputs[c * B * HW + n * HW + u] = x.storage[(n * C + c) * HW + u] } } }
      let patches = gram.columns(of: inputs, samples: B)  // [C·k², B·L]
      let g = conv.geometry(x)
      XCTAssertEqual(g.positions, L)
      var expected = [Double](repeating: 0, count: C * kernel * kernel * B * L)
      x.storage.withUnsafeBufferPointer { xs in
        expected.withUnsafeMutableBufferPointer { u in
          for n in 0..<B { conv.writeColumns(of: xs.baseAddress! + n * g.inputSize, geometry: g, into: u.baseAddress! + n * L, rowStride: B * L) }
        }
      }
      XCTAssertEqual(patches, expected, "k \(kernel) p \(padding)")
      // Row sample 0 against the chunk of samples 1 and 2.
      var G = [Double](repeating: 0, count: HW * 2 * HW)
      for u in 0..<HW { for y in 0..<2 { for v in 0..<HW {
        G[u * 2 * HW + y * HW + v] = (0..<C).reduce(0) { $0 + inputs[$1 * B * HW + u] * inputs[$1 * B * HW + (1 + y) * HW + v] }
      } } }
      var M = [Double](repeating: 0, count: L * 2 * L)
      G.withUnsafeBufferPointer { g in M.withUnsafeMutableBufferPointer { m in gram.addShiftedSums(gram: g.baseAddress!, samples: 2, into: m.baseAddress!) } }
      for s in 0..<L { for y in 0..<2 { for t in 0..<L {
        let direct = (0..<(C * kernel * kernel)).reduce(0.0) { $0 + patches[$1 * B * L + s] * patches[$1 * B * L + (1 + y) * L + t] }
        XCTAssertEqual(M[s * 2 * L + y * L + t], direct, accuracy: 1e-12 * max(1, abs(direct)), "k \(kernel) p \(padding) (\(s), \(y), \(t))")
      } } }
    }
    // Where it applies: stride 1, one group, k > 1, and cheaper.
    XCTAssertNotNil(PatchGram.make(channels: 64, height: 8, width: 8, kernel: 3, stride: 1, padding: 1, groups: 1))
    XCTAssertNil(PatchGram.make(channels: 64, height: 8, width: 8, kernel: 3, stride: 2, padding: 1, groups: 1))
    XCTAssertNil(PatchGram.make(channels: 64, height: 8, width: 8, kernel: 3, stride: 1, padding: 1, groups: 2))
    XCTAssertNil(PatchGram.make(channels: 64, height: 8, width: 8, kernel: 1, stride: 1, padding: 0, groups: 1))
    XCTAssertNil(PatchGram.make(channels: 12, height: 6, width: 6, kernel: 5, stride: 1, padding: 0, groups: 1), "patches cheaper")
  }

  private func contribution(_ p: JacobianPart<Double>, _ q: JacobianPart<Double>, nI: Int, nJ: Int, diagonal: Bool) -> [Double] {
    var out = [Double](repeating: 0, count: nI * 10 * nJ * 10)
    var scratch = TileKernel.Scratch<Double>()
    out.withUnsafeMutableBufferPointer { g in
      TileKernel.start(g, rows: nI * 10, columns: nJ * 10, isDiagonal: diagonal)
      TileKernel.accumulate(p, q, rowSamples: nI, columnSamples: nJ, outputsPerSample: 10, isDiagonal: diagonal,
                            scratch: &scratch, into: g)
      TileKernel.finish(g, rows: nI * 10, isDiagonal: diagonal, scale: 1)
    }
    return out
  }

  /// Every tile of a ResNet (stride-2 and 1×1 shortcut convolutions, BatchNorm) and a MobileNet
  /// (depthwise), whole blocks and layer streaming, structured vs explicit.
  func testTileSourceStructuredEqualsExplicit() throws {
    for (name, width) in [("resnet18", 4), ("mobilenet", 0)] {
      var model = try ModelZoo.make(name: name, width: width, scalar: Double.self)
      model.initialize(seed: 21)
      var random = TestRandom(seed: 22)
      let x = random.tensor([5, 3, 32, 32])
      let structured = ContractionChoice.allStructured(model: model)
      let explicit = try allTiles(TileSource(model: model, inputs: x, scale: 1, tileSamples: 2, strategy: .wholeBlocks,
                                             cacheBytes: 0, choice: .allExplicit(model: model)))
      for strategy in [TileStrategy.wholeBlocks, .layerStreaming] {
        let source = TileSource(model: model, inputs: x, scale: 1, tileSamples: 2, strategy: strategy, cacheBytes: 1 << 30,
                                choice: structured)
        let tiles = try allTiles(source)
        XCTAssertGreaterThan(source.statistics.structuredFLOP, 0)
        for (s, e) in zip(tiles, explicit) { XCTAssertLessThan(relativeFrobeniusError(s, e), 1e-12, "\(name) \(strategy)") }
      }
    }
  }

  private func allTiles(_ source: TileSource<Double>) throws -> [[Double]] {
    var tiles: [[Double]] = []
    for i in 0..<source.blockCount { for j in i..<source.blockCount { tiles.append(try source.tile(rowBlock: i, columnBlock: j)) } }
    return tiles
  }

  /// The FLOP model's choices on the models of the benchmark: ResNet18's last stage structured,
  /// its first stage and LeNet's convolutions explicit.
  func testChoiceFollowsTheFlopModel() throws {
    let resnet = try ModelZoo.make(name: "resnet18", width: 16, scalar: Float.self)
    let choice = ContractionChoice.make(model: resnet, tileSamples: 64)
    let byPath = Dictionary(uniqueKeysWithValues: choice.layers.map { ($0.path, $0.structured) })
    XCTAssertEqual(byPath["layer4.1.conv2"], true)
    XCTAssertEqual(byPath["layer4.0.conv1"], true)
    XCTAssertEqual(byPath["layer1.0.conv1"], false)
    XCTAssertEqual(byPath["conv1"], false)
    XCTAssertEqual(byPath["linear"], true)
    XCTAssertLessThan(choice.chosenFLOP, choice.explicitFLOP / 2)
    for layer in choice.layers {
      XCTAssertEqual(layer.structured, layer.structuredFLOP < layer.explicitFLOP, layer.path)
    }
    let lenet = try ModelZoo.make(name: "lenet", scalar: Float.self)
    let lenetChoice = ContractionChoice.make(model: lenet, tileSamples: 200)
    XCTAssertEqual(lenetChoice.layers.map(\.structured), [false, false, true, true, true])
    XCTAssertTrue(choice.summary.contains("layer4.1.conv2"), choice.summary)
  }

  /// The memory model counts what a block really holds with the choice, and the smaller blocks give
  /// `tileSamples: "auto"` larger tiles than explicit convolutions would.
  func testMemoryModelCountsStructuredParts() throws {
    var model = try ModelZoo.make(name: "resnet18", width: 4, scalar: Double.self)
    model.initialize(seed: 31)
    var random = TestRandom(seed: 32)
    let choice = ContractionChoice.make(model: model, tileSamples: 3)
    XCTAssertTrue(choice.layers.contains { $0.structured && model.nodes[$0.node].layer is Conv2d<Double> })
    let block = try model.jacobian(inputs: random.tensor([3, 3, 32, 32]), choice: choice)
    XCTAssertEqual(model.jacobianScalarCount(samples: 3, choice: choice), block.parts.reduce(0) { $0 + $1.scalarCount })
    XCTAssertLessThan(model.jacobianScalarCount(samples: 3, choice: choice), model.jacobianScalarCount(samples: 3) / 2)

    let net = try ModelZoo.make(name: "resnet18", width: 16, scalar: Float.self)
    let budget = 2 << 30
    let plan = try TileMemoryPlan.make(model: net, sampleCount: 1000, budgetBytes: budget, baseBytes: 64 << 20, tileSamples: nil)
    XCTAssertEqual(plan.strategy, .wholeBlocks)
    XCTAssertEqual(plan.contraction, ContractionChoice.make(model: net, tileSamples: plan.tileSamples))
    // What the explicit-convolution model (Linear-only structure) would hold at the chosen t.
    let t = plan.tileSamples
    let oldBlocks = 2 * net.jacobianScalarCount(samples: t) * 4
    let newBlocks = 2 * net.jacobianScalarCount(samples: t, choice: plan.contraction) * 4
    XCTAssertLessThan(newBlocks, oldBlocks / 2)
    XCTAssertLessThanOrEqual(plan.workingBytes, budget)
    XCTAssertGreaterThan(
      TileMemoryPlan.working(net, n: 1000, t: t + 1, strategy: .wholeBlocks, base: 64 << 20), budget)
  }
}
