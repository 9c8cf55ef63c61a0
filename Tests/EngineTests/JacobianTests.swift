import XCTest

@testable import Engine

/// Consistency of Jacobian blocks and tiles: structured vs explicit Linear contraction, SYRK
/// diagonal vs GEMM, determinism, and Jacobian rows vs the model's vector–Jacobian product.
final class JacobianTests: XCTestCase {
  func randomModel(_ name: String, seed: UInt64) throws -> Model<Double> {
    var model = try ModelZoo.make(name: name, scalar: Double.self)
    model.initialize(seed: seed)
    return model
  }

  func testStructuredLinearMatchesExplicitRows() throws {
    for name in ["twolayer", "lenet"] {
      let model = try randomModel(name, seed: 3)
      var random = TestRandom(seed: 4)
      let a = random.tensor([3, 3, 32, 32]), b = random.tensor([2, 3, 32, 32])
      let ja = try model.jacobian(inputs: a), jb = try model.jacobian(inputs: b)
      let xa = try model.jacobian(inputs: a, structured: false), xb = try model.jacobian(inputs: b, structured: false)
      XCTAssertTrue(ja.parts.contains { if case .linear = $0 { return true } else { return false } })
      XCTAssertFalse(xa.parts.contains { if case .linear = $0 { return true } else { return false } })
      XCTAssertEqual(ja.parameterCount, model.parameterCount)
      // Same rows either way.
      XCTAssertLessThan(relativeFrobeniusError(ja.explicitRows(), xa.explicitRows()), 1e-15)
      let structured = TileKernel.tile(rows: ja, columns: jb, isDiagonal: false, scale: 1)
      let explicit = TileKernel.tile(rows: xa, columns: xb, isDiagonal: false, scale: 1)
      XCTAssertEqual(structured.count, 30 * 20)
      XCTAssertLessThan(relativeFrobeniusError(structured, explicit), 1e-13, name)
      // Direct J_a J_bᵀ from the materialised rows (lenet only: twolayer's P makes this slow in debug).
      guard name == "lenet" else { continue }
      let P = model.parameterCount
      let ra = ja.explicitRows(), rb = jb.explicitRows()
      var direct = [Double](repeating: 0, count: 30 * 20)
      for r in 0..<30 {
        for c in 0..<20 {
          var s = 0.0
          for p in 0..<P { s += ra[r * P + p] * rb[c * P + p] }
          direct[r * 20 + c] = s
        }
      }
      XCTAssertLessThan(relativeFrobeniusError(structured, direct), 1e-13, name)
    }
  }

  func testJacobianScalarCount() throws {
    let model = try randomModel("lenet", seed: 1)
    var random = TestRandom(seed: 2)
    let block = try model.jacobian(inputs: random.tensor([3, 3, 32, 32]))
    var held = 0
    for part in block.parts {
      switch part {
      case .explicit(_, let values): held += values.count
      case .linear(_, _, _, let delta, let input): held += delta.count + input.count
      case .convolution(let factors): held += factors.scalarCount
      }
    }
    XCTAssertEqual(model.jacobianScalarCount(samples: 3), held)
    XCTAssertEqual(model.jacobianScalarCount(samples: 3, structured: false), 30 * 62_006)
  }

  func testDiagonalSyrkTileEqualsGemmTile() throws {
    let model = try randomModel("lenet", seed: 5)
    var random = TestRandom(seed: 6)
    // 4 samples (R = 40, one thread) and 30 (R = 300: 90,000 scalars, so the zero fill, the
    // structured Linear combine, the scaling and the 32 × 32-blocked mirror run split over the cores;
    // 300 is not a multiple of 32), scale 1 and 1/√P.
    for (samples, scale) in [(4, 1.0), (30, 1 / Double(model.parameterCount).squareRoot())] {
      let x = random.tensor([samples, 3, 32, 32])
      let R = samples * 10
      for structured in [true, false] {
        let j = try model.jacobian(inputs: x, structured: structured)
        let syrk = TileKernel.tile(rows: j, columns: j, isDiagonal: true, scale: scale)
        let gemm = TileKernel.tile(rows: j, columns: j, isDiagonal: false, scale: scale)
        XCTAssertLessThan(relativeFrobeniusError(syrk, gemm), 1e-14, "\(samples) samples, structured \(structured)")
        for r in 0..<R {
          for c in 0..<R where syrk[r * R + c] != syrk[c * R + r] {  // exactly symmetric
            XCTFail("[\(r), \(c)] differs from [\(c), \(r)] (\(samples) samples, structured \(structured))")
          }
        }
      }
    }
  }

  func testTilesAreDeterministic() throws {
    let model = try randomModel("lenet", seed: 8)
    var random = TestRandom(seed: 9)
    let x = random.tensor([5, 3, 32, 32]), y = random.tensor([3, 3, 32, 32])
    let first = TileKernel.tile(
      rows: try model.jacobian(inputs: x), columns: try model.jacobian(inputs: y), isDiagonal: false, scale: 0.5)
    let second = TileKernel.tile(
      rows: try model.jacobian(inputs: x), columns: try model.jacobian(inputs: y), isDiagonal: false, scale: 0.5)
    XCTAssertEqual(first.map(\.bitPattern), second.map(\.bitPattern))
  }

  /// `cᵀ J` from the Jacobian rows equals the reverse pass with cotangent c, for every model.
  func testJacobianRowsMatchVectorJacobianProduct() throws {
    for name in ["logistic", "twolayer", "lenet"] {
      let model = try randomModel(name, seed: 10)
      var random = TestRandom(seed: 11)
      let x = random.tensor([2, 3, 32, 32])
      let c = random.tensor([2, 10])
      let rows = try model.jacobian(inputs: x).explicitRows()
      let P = model.parameterCount
      var expected = [Double](repeating: 0, count: P)
      for r in 0..<20 {
        for p in 0..<P { expected[p] += c.storage[r] * rows[r * P + p] }
      }
      let vjp = try model.vectorJacobianProduct(inputs: x, outputCotangent: c)
      XCTAssertLessThan(relativeFrobeniusError(vjp.parameters, expected), 1e-13, name)
    }
  }

  /// Finite differences of the logits in θ for lenet, against Jacobian rows (a few columns per layer).
  func testLeNetJacobianAgainstFiniteDifferences() throws {
    var model = try randomModel("lenet", seed: 12)
    var random = TestRandom(seed: 13)
    let x = random.tensor([2, 3, 32, 32])
    let rows = try model.jacobian(inputs: x).explicitRows()
    let theta = model.parameters()
    let P = model.parameterCount
    let h = 1e-6
    for entry in model.stateEntries where entry.isTrainable {
      for k in [0, entry.count / 2, entry.count - 1] {
        let p = entry.parameterOffset! + k
        var plus = theta, minus = theta
        plus[p] += h
        minus[p] -= h
        model.setParameters(plus)
        let lp = try model.logits(inputs: x).storage
        model.setParameters(minus)
        let lm = try model.logits(inputs: x).storage
        for r in 0..<20 {
          let fd = (lp[r] - lm[r]) / (2 * h)
          XCTAssertEqual(rows[r * P + p], fd, accuracy: 1e-6 * (1 + abs(fd)), "\(entry.name)[\(k)] row \(r)")
        }
      }
    }
  }

  /// A graph with a residual addition and a channel concatenation: reverse pass against finite differences.
  func testAddAndConcatGraph() throws {
    var builder = ModelBuilder<Double>(inputShape: [2, 4, 4])
    let a = try builder.layer("a", Conv2d<Double>(2, 3, kernelSize: 3, padding: 1, bias: true), input: ModelNode<Double>.modelInput)
    let b = try builder.layer("b", Conv2d<Double>(2, 3, kernelSize: 1, bias: false), input: ModelNode<Double>.modelInput)
    let sum = try builder.add([a, b])
    let relu = try builder.layer("", ReLU<Double>(), input: sum)
    try builder.concat([relu, ModelNode<Double>.modelInput, a])
    try builder.layer("bn", BatchNorm2d<Double>(8))
    try builder.layer("", Flatten<Double>())
    try builder.layer("fc", Linear<Double>(128, 10))
    var model = builder.build(name: "graph", width: 0)
    model.initialize(seed: 14)
    var random = TestRandom(seed: 15)
    let x = random.tensor([2, 2, 4, 4])
    let c = random.tensor([2, 10])
    let vjp = try model.vectorJacobianProduct(inputs: x, outputCotangent: c)
    func loss(_ m: Model<Double>, _ input: Tensor<Double>) throws -> Double {
      zip(try m.logits(inputs: input).storage, c.storage).reduce(0) { $0 + $1.0 * $1.1 }
    }
    let h = 1e-6
    let theta = model.parameters()
    for p in 0..<model.parameterCount {
      var plus = theta, minus = theta
      plus[p] += h
      minus[p] -= h
      var mp = model, mm = model
      mp.setParameters(plus)
      mm.setParameters(minus)
      let fd = (try loss(mp, x) - (try loss(mm, x))) / (2 * h)
      XCTAssertEqual(vjp.parameters[p], fd, accuracy: 1e-6 * (1 + abs(fd)), "parameter \(p)")
    }
    for i in 0..<x.count {
      var plus = x, minus = x
      plus.storage[i] += h
      minus.storage[i] -= h
      let fd = (try loss(model, plus) - (try loss(model, minus))) / (2 * h)
      XCTAssertEqual(vjp.inputs.storage[i], fd, accuracy: 1e-6 * (1 + abs(fd)), "input \(i)")
    }
  }
}
