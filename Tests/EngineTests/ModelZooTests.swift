import XCTest

@testable import Engine

final class ModelZooTests: XCTestCase {
  func testParameterCountsAndKeys() throws {
    let expected = ["logistic": 30_730, "twolayer": 369_970, "lenet": 62_006]
    for (name, count) in expected {
      let model = try ModelZoo.make(name: name, scalar: Float.self)
      XCTAssertEqual(model.parameterCount, count, name)
      XCTAssertEqual(model.outputsPerSample, 10)
    }
    let lenet = try ModelZoo.make(name: "lenet", scalar: Double.self)
    XCTAssertEqual(
      lenet.stateEntries.map(\.name),
      ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight",
       "fc2.bias", "fc3.weight", "fc3.bias"])
    XCTAssertEqual(lenet.stateEntries[2].shape, [16, 6, 5, 5])
  }

  func testResNetParameterCounts() throws {
    let expected = [
      "resnet9": 4_903_242, "resnet18": 11_173_962, "resnet34": 21_282_122, "resnet68": 41_353_546,
      "resnet50": 23_520_842, "resnet101": 42_512_970, "resnet152": 58_156_618,
    ]
    for (name, count) in expected {
      let model = try ModelZoo.make(name: name, width: 0, scalar: Float.self)
      XCTAssertEqual(model.parameterCount, count, name)
      XCTAssertEqual(model.width, 64)
    }
    for (width, count) in [4: 44_622, 8: 176_402, 16: 701_466, 32: 2_797_610] {
      XCTAssertEqual(try ModelZoo.make(name: "resnet18", width: width, scalar: Float.self).parameterCount, count)
    }
    let resnet18 = try ModelZoo.make(name: "resnet18", width: 4, scalar: Float.self)
    let names = resnet18.stateEntries.map(\.name)
    XCTAssertEqual(Array(names.prefix(6)), ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "layer1.0.conv1.weight"])
    XCTAssertTrue(names.contains("layer2.0.shortcut.1.running_var"))
    XCTAssertFalse(names.contains("layer1.0.shortcut.0.weight"))
  }

  func testOtherModelParameterCounts() throws {
    let expected = [
      "vgg11": 9_231_114, "vgg13": 9_416_010, "mobilenet": 3_217_226, "mobilenetv2": 2_296_922,
      "wrn-28-2": 1_468_506, "wrn-28-5": 9_134_874, "wrn-28-10": 36_483_674, "densenet121": 6_956_298,
    ]
    for (name, count) in expected {
      XCTAssertEqual(try ModelZoo.make(name: name, scalar: Float.self).parameterCount, count, name)
    }
    XCTAssertEqual(ModelZoo.names.count, 18)
    let vgg = try ModelZoo.make(name: "vgg11", scalar: Float.self).stateEntries.map(\.name)
    XCTAssertEqual(Array(vgg.prefix(7)), [
      "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias", "features.1.running_mean",
      "features.1.running_var", "features.4.weight",
    ])
    XCTAssertEqual(vgg.last, "classifier.bias")
    let dense = try ModelZoo.make(name: "densenet121", scalar: Float.self).stateEntries.map(\.name)
    XCTAssertEqual(Array(dense.prefix(3)), ["conv1.weight", "dense1.0.bn1.weight", "dense1.0.bn1.bias"])
    XCTAssertTrue(dense.contains("trans3.conv.weight"))
  }

  /// DenseNet's concatenation and a small forward: finite logits of the right shape.
  func testDenseNetForward() throws {
    var model = try ModelZoo.make(name: "densenet121", scalar: Float.self)
    model.initialize(seed: 3)
    var random = TestRandom(seed: 4)
    let logits = try model.logits(inputs: random.tensor([1, 3, 32, 32]).converted(to: Float.self))
    XCTAssertEqual(logits.shape, [1, 10])
    XCTAssertTrue(logits.storage.allSatisfy(\.isFinite))
  }

  func testWideResNetInitialisation() throws {
    var model = try ModelZoo.make(name: "wrn-28-2", scalar: Double.self)
    model.initialize(seed: 5)
    let state = Dictionary(uniqueKeysWithValues: model.state().map { ($0.name, $0.tensor.values) })
    let conv = state["stage3.block2.conv1.weight"]!  // fan_in 128·9
    let variance = conv.reduce(0) { $0 + $1 * $1 } / Double(conv.count)
    XCTAssertEqual(variance, 2.0 / 1152, accuracy: 0.05 * 2.0 / 1152)
    let bn = state["stage2.block1.bn1.weight"]!
    XCTAssertTrue(bn.allSatisfy { $0 >= 0 && $0 < 1 })
    XCTAssertTrue(state["stage2.block1.bn1.bias"]!.allSatisfy { $0 == 0 })
    XCTAssertTrue(state["fc.bias"]!.allSatisfy { $0 == 0 })
    XCTAssertTrue(state["fc.weight"]!.allSatisfy { abs($0) <= 1 / 128.0.squareRoot() })
  }

  func testUnknownModelIsAnError() {
    XCTAssertThrowsError(try ModelZoo.make(name: "resnet1000", scalar: Double.self)) { error in
      XCTAssertEqual((error as? EngineError)?.code, .unknownModel)
      XCTAssertTrue((error as? EngineError)?.message.contains("resnet1000") ?? false)
    }
  }

  func testLoadErrorsNameKeyAndShapes() throws {
    var model = try ModelZoo.make(name: "twolayer", scalar: Double.self)
    model.initialize(seed: 1)
    var state = Dictionary(uniqueKeysWithValues: model.state().map { ($0.name, $0.tensor) })
    state["fc1.num_batches_tracked"] = StateTensor(shape: [], values: [0])
    XCTAssertNoThrow(try model.load(state: state))

    var wrong = state
    wrong["fc2.weight"] = StateTensor(shape: [10, 121], values: [Double](repeating: 0, count: 1210))
    XCTAssertThrowsError(try model.load(state: wrong)) { error in
      let message = (error as? EngineError)?.message ?? ""
      XCTAssertEqual((error as? EngineError)?.code, .stateMismatch)
      XCTAssertTrue(message.contains("fc2.weight") && message.contains("[10, 120]") && message.contains("[10, 121]"), message)
    }
    var missing = state
    missing["fc1.bias"] = nil
    XCTAssertThrowsError(try model.load(state: missing)) { error in
      XCTAssertTrue((error as? EngineError)?.message.contains("fc1.bias") ?? false)
    }
    var extra = state
    extra["fc3.weight"] = StateTensor(shape: [1], values: [0])
    XCTAssertThrowsError(try model.load(state: extra)) { error in
      XCTAssertTrue((error as? EngineError)?.message.contains("fc3.weight") ?? false)
    }
    XCTAssertThrowsError(try model.logits(inputs: Tensor<Double>(zeros: [1, 3, 28, 28])))
  }

  func testStateRoundTripAndInitialisation() throws {
    var model = try ModelZoo.make(name: "lenet", scalar: Double.self)
    model.initialize(seed: 42)
    let state = model.state()
    XCTAssertEqual(state.map(\.name), model.stateEntries.map(\.name))
    // Uniform on ±1/√fan_in: bounds respected, spread close to the bound, mean near 0.
    for (name, tensor) in state {
      let fanIn = name.hasPrefix("conv1") ? 75 : name.hasPrefix("conv2") ? 150 : name.hasPrefix("fc1") ? 400
        : name.hasPrefix("fc2") ? 120 : 84
      let bound = 1 / Double(fanIn).squareRoot()
      XCTAssertLessThanOrEqual(tensor.values.map(abs).max()!, bound, name)
      if tensor.values.count > 1000 {
        XCTAssertGreaterThan(tensor.values.map(abs).max()!, 0.99 * bound, name)
        let mean = tensor.values.reduce(0, +) / Double(tensor.values.count)
        XCTAssertLessThan(abs(mean), 0.05 * bound, name)
        let variance = tensor.values.reduce(0) { $0 + $1 * $1 } / Double(tensor.values.count)
        XCTAssertEqual(variance, bound * bound / 3, accuracy: 0.05 * bound * bound, name)
      }
    }
    var copy = try ModelZoo.make(name: "lenet", scalar: Double.self)
    try copy.load(state: Dictionary(uniqueKeysWithValues: state.map { ($0.name, $0.tensor) }))
    XCTAssertEqual(copy.stateValues, model.stateValues)
    var again = try ModelZoo.make(name: "lenet", scalar: Double.self)
    again.initialize(seed: 42)
    XCTAssertEqual(again.stateValues, model.stateValues)
    again.initialize(seed: 43)
    XCTAssertNotEqual(again.stateValues, model.stateValues)
  }

  func testBatchNormInitialisation() {
    var builder = ModelBuilder<Double>(inputShape: [2, 2, 2])
    _ = try? builder.layer("bn", BatchNorm2d<Double>(2))
    var model = builder.build(name: "bn", width: 0)
    model.initialize(seed: 1)
    XCTAssertEqual(model.stateValues, [1, 1, 0, 0, 0, 0, 1, 1])
    XCTAssertEqual(model.parameterCount, 4)
    XCTAssertEqual(model.stateEntries.map(\.isTrainable), [true, true, false, false])
  }

  func testSplitMix64ReferenceValues() {
    // First outputs for seed 1234567 from Vigna's reference splitmix64.c.
    var generator = SplitMix64(seed: 1_234_567)
    XCTAssertEqual(generator.next(), 6_457_827_717_110_365_317)
    XCTAssertEqual(generator.next(), 3_203_168_211_198_807_973)
  }
}
