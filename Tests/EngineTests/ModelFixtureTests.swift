import XCTest

@testable import Engine

/// Logits and eNTK of logistic, twolayer and lenet against the PyTorch float64 fixtures
/// (relative Frobenius error < 1e-10 in float64, < 1e-4 in float32). The eNTK is assembled from
/// tiles of 2 and 1 samples: one off-diagonal tile and two diagonal (SYRK) tiles.
final class ModelFixtureTests: XCTestCase {
  let blocks = [0..<2, 2..<3]

  func checkFixture<T: BLASScalar>(
    _ name: String, width: Int = 0, _: T.Type, tolerance: Double, checkNTK: Bool = true,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let fixture = try ModelFixture("\(name)-w\(width)")
    var model = try ModelZoo.make(name: name, width: width, scalar: T.self)
    XCTAssertEqual(model.parameterCount, fixture.parameterCount, file: file, line: line)
    XCTAssertEqual(model.stateEntries.map(\.name), fixture.stateOrder, file: file, line: line)
    try model.load(state: fixture.state)

    let inputs = fixture.inputTensor(T.self, samples: 0..<3)
    let logits = try model.logits(inputs: inputs)
    XCTAssertEqual(logits.shape, [3, 10], file: file, line: line)
    let logitsError = relativeFrobeniusError(logits.storage, fixture.logits)
    XCTAssertLessThan(logitsError, tolerance, "\(name) \(T.self) logits", file: file, line: line)

    guard checkNTK else {
      print("fixture \(name) \(T.self): logits rel. Frobenius error \(logitsError)")
      return
    }
    let ntk = try assembleNTK(model: model, inputs: inputs, blocks: blocks)
    let ntkError = relativeFrobeniusError(ntk, fixture.ntk)
    XCTAssertLessThan(ntkError, tolerance, "\(name) \(T.self) eNTK", file: file, line: line)

    var trace = [Double](repeating: 0, count: 9)
    for i in 0..<3 {
      for j in 0..<3 {
        trace[i * 3 + j] = (0..<10).reduce(0.0) { $0 + Double(ntk[(i * 10 + $1) * 30 + j * 10 + $1]) }
      }
    }
    let traceError = relativeFrobeniusError(trace, fixture.ntkTrace)
    XCTAssertLessThan(traceError, tolerance, "\(name) \(T.self) eNTK trace", file: file, line: line)
    print("fixture \(name) \(T.self): logits rel. Frobenius error \(logitsError), eNTK \(ntkError), trace \(traceError)")
  }

  func testLogisticFloat64() throws { try checkFixture("logistic", Double.self, tolerance: 1e-10) }
  func testLogisticFloat32() throws { try checkFixture("logistic", Float.self, tolerance: 1e-4) }
  func testTwoLayerFloat64() throws { try checkFixture("twolayer", Double.self, tolerance: 1e-10) }
  func testTwoLayerFloat32() throws { try checkFixture("twolayer", Float.self, tolerance: 1e-4) }
  func testLeNetFloat64() throws { try checkFixture("lenet", Double.self, tolerance: 1e-10) }
  func testLeNetFloat32() throws { try checkFixture("lenet", Float.self, tolerance: 1e-4) }

  func testResNet9Width8Float64() throws { try checkFixture("resnet9", width: 8, Double.self, tolerance: 1e-10) }
  func testResNet9Width8Float32() throws { try checkFixture("resnet9", width: 8, Float.self, tolerance: 1e-4) }
  func testResNet18Width4Float64() throws { try checkFixture("resnet18", width: 4, Double.self, tolerance: 1e-10) }
  func testResNet18Width4Float32() throws { try checkFixture("resnet18", width: 4, Float.self, tolerance: 1e-4) }
  func testResNet50Width2Float64() throws { try checkFixture("resnet50", width: 2, Double.self, tolerance: 1e-10) }
  func testResNet50Width2Float32() throws { try checkFixture("resnet50", width: 2, Float.self, tolerance: 1e-4) }

  // Not float32_stable (README §1): float32 checks logits only.
  func testWideResNet28x2Float64() throws { try checkFixture("wrn-28-2", Double.self, tolerance: 1e-10) }
  func testWideResNet28x2Float32Logits() throws {
    try checkFixture("wrn-28-2", Float.self, tolerance: 1e-4, checkNTK: false)
  }
  func testMobileNetV2Float64() throws { try checkFixture("mobilenetv2", Double.self, tolerance: 1e-10) }
  func testMobileNetV2Float32Logits() throws {
    try checkFixture("mobilenetv2", Float.self, tolerance: 1e-4, checkNTK: false)
  }
  func testMobileNetFloat64() throws { try checkFixture("mobilenet", Double.self, tolerance: 1e-10) }
  func testMobileNetFloat32Logits() throws {
    try checkFixture("mobilenet", Float.self, tolerance: 1e-4, checkNTK: false)
  }

  /// The sqrt-params normalization divides every entry by √P.
  func testSqrtParamsScale() throws {
    let fixture = try ModelFixture("lenet-w0")
    var model = try ModelZoo.make(name: "lenet", scalar: Double.self)
    try model.load(state: fixture.state)
    let inputs = fixture.inputTensor(Double.self, samples: 0..<3)
    let scale = 1 / Double(model.parameterCount).squareRoot()
    let ntk = try assembleNTK(model: model, inputs: inputs, blocks: [0..<3], scale: scale)
    XCTAssertLessThan(relativeFrobeniusError(ntk, fixture.ntk.map { $0 * scale }), 1e-10)
  }
}
