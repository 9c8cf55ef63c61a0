import XCTest

@testable import Engine

/// Finite-difference checks of the training-mode loss gradient (float64), BatchNorm with batch
/// statistics included, through every layer type and graph operation.
final class TrainingGradientTests: XCTestCase {
  /// A small graph with every layer type and both graph operations, on `[3, 8, 8]` inputs:
  /// conv → BN → relu → {grouped conv → BN → tanh, conv 1×1} → add → concat with a BN branch →
  /// maxpool → avgpool → GAP → flatten → linear → relu → linear.
  func everyLayerModel() throws -> Model<Double> {
    var b = ModelBuilder<Double>(inputShape: [3, 8, 8])
    try b.convolution("stem", 3, 4, kernelSize: 3, padding: 1, bias: true)
    try b.layer("stem_bn", BatchNorm2d<Double>(4))
    let x = try b.layer("", ReLU<Double>())
    try b.convolution("a.conv", 4, 4, kernelSize: 3, padding: 1, groups: 2)
    try b.layer("a.bn", BatchNorm2d<Double>(4))
    let a = try b.layer("", Tanh<Double>())
    let s = try b.convolution("s.conv", 4, 4, kernelSize: 1, input: x)
    let sum = try b.add([a, s])
    let bn = try b.layer("c.bn", BatchNorm2d<Double>(4), input: x)
    try b.concat([sum, bn])
    try b.layer("", MaxPool2d<Double>(2))
    try b.convolution("d.conv", 8, 6, kernelSize: 1, stride: 1)
    try b.layer("d.bn", BatchNorm2d<Double>(6))
    try b.layer("", AvgPool2d<Double>(2))
    try b.layer("", GlobalAvgPool2d<Double>())
    try b.layer("", Flatten<Double>())
    try b.layer("fc1", Linear<Double>(6, 7))
    try b.layer("", ReLU<Double>())
    try b.layer("fc2", Linear<Double>(7, 10))
    var model = b.build(name: "every-layer", width: 0)
    model.initialize(seed: 3)
    // Non-trivial BN affine parameters, so that γ and β enter every derivative.
    var theta = model.parameters()
    var random = TestRandom(seed: 9)
    for entry in model.stateEntries where entry.name.contains("bn.") && entry.isTrainable {
      for i in 0..<entry.count { theta[entry.parameterOffset! + i] += random.generator.nextUniform(-0.5, 0.5) }
    }
    model.setParameters(theta)
    return model
  }

  /// Checks `∂L/∂θ · v` against the central difference `(L(θ + εv) − L(θ − εv)) / 2ε` for random
  /// directions v, and single coordinates of every state entry.
  func checkGradient(_ model: Model<Double>, batch: Int, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) throws {
    var random = TestRandom(seed: seed)
    let inputs = random.tensor([batch] + model.inputShape)
    let labels = ArraySlice((0..<batch).map { $0 % 10 })
    var trained = model
    let (loss, gradient) = try trained.trainingGradient(inputs: inputs, labels: labels)
    XCTAssertEqual(loss.loss, try model.trainingLoss(inputs: inputs, labels: labels).loss, accuracy: 1e-12, file: file, line: line)
    XCTAssertEqual(trained.parameters(), model.parameters(), "trainingGradient must not change θ", file: file, line: line)
    let theta = model.parameters()
    func lossAt(_ direction: [Double], _ epsilon: Double) throws -> Double {
      var shifted = model
      shifted.setParameters(zip(theta, direction).map { $0 + epsilon * $1 })
      return try shifted.trainingLoss(inputs: inputs, labels: labels).loss
    }
    let epsilon = 1e-6
    for _ in 0..<3 {
      let direction = random.values(theta.count)
      let analytic = zip(gradient, direction).reduce(0) { $0 + $1.0 * $1.1 }
      let numeric = (try lossAt(direction, epsilon) - lossAt(direction, -epsilon)) / (2 * epsilon)
      XCTAssertEqual(analytic, numeric, accuracy: 1e-6 * max(1, abs(numeric)), "direction", file: file, line: line)
    }
    for entry in model.stateEntries where entry.isTrainable {
      let index = entry.parameterOffset! + entry.count / 2
      var direction = [Double](repeating: 0, count: theta.count)
      direction[index] = 1
      let numeric = (try lossAt(direction, epsilon) - lossAt(direction, -epsilon)) / (2 * epsilon)
      XCTAssertEqual(gradient[index], numeric, accuracy: 1e-6 * max(1, abs(numeric)), "\(entry.name)", file: file, line: line)
    }
  }

  func testEveryLayerTypeInTrainingMode() throws {
    try checkGradient(try everyLayerModel(), batch: 5, seed: 1)
  }

  func testZooModelsInTrainingMode() throws {
    // (wrn-28-2 was checked by hand: at ε = 1e-7 its BN coordinates agree to 1e-9, but with
    // ~10⁶ ReLUs a step of 1e-6 already crosses kinks, and it takes minutes in a debug build.)
    for (name, width) in [("lenet", 0), ("twolayer", 0), ("resnet9", 2)] {
      var model = try ModelZoo.make(name: name, width: width, scalar: Double.self)
      model.initialize(seed: 5)
      try checkGradient(model, batch: 3, seed: 2)
    }
  }

  /// With a batch of identical copies, batch statistics remove the input entirely from a BN output:
  /// the gradient of everything before the first BN (the conv weight) must vanish, while inference
  /// mode would give a non-zero one. Guards against training mode silently using running statistics.
  func testBatchStatisticsAreUsed() throws {
    var b = ModelBuilder<Double>(inputShape: [3, 4, 4])
    try b.convolution("conv", 3, 2, kernelSize: 1, bias: true)
    try b.layer("bn", BatchNorm2d<Double>(2))
    try b.layer("", Flatten<Double>())
    try b.layer("fc", Linear<Double>(32, 10))
    var model = b.build(name: "bn", width: 0)
    model.initialize(seed: 1)
    var random = TestRandom(seed: 4)
    let image = random.values(48)
    let inputs = Tensor<Double>(shape: [2, 3, 4, 4], storage: image + image.map { $0 + 1e-3 })
    let (_, gradient) = try model.trainingGradient(inputs: inputs, labels: [1, 2])
    let convBias = model.stateEntries.first { $0.name == "conv.bias" }!
    // A per-channel constant shift before BN is removed by the batch mean: zero bias gradient.
    for i in 0..<2 { XCTAssertEqual(gradient[convBias.parameterOffset! + i], 0, accuracy: 1e-12) }
    let inference = try model.vectorJacobianProduct(inputs: inputs, outputCotangent: Tensor(shape: [2, 10], storage: random.values(20)))
    XCTAssertGreaterThan(abs(inference.parameters[convBias.parameterOffset!]), 1e-6)
  }

  /// Running statistics after one batch: `0.9·old + 0.1·batch statistic`, with the unbiased variance.
  func testRunningStatisticsUpdate() throws {
    var b = ModelBuilder<Double>(inputShape: [2, 3, 3])
    try b.layer("bn", BatchNorm2d<Double>(2))
    try b.layer("", Flatten<Double>())
    try b.layer("fc", Linear<Double>(18, 10))
    var model = b.build(name: "bn", width: 0)
    model.initialize(seed: 1)
    var random = TestRandom(seed: 7)
    let inputs = random.tensor([4, 2, 3, 3])
    _ = try model.trainingGradient(inputs: inputs, labels: [0, 1, 2, 3])
    let state = Dictionary(uniqueKeysWithValues: model.state().map { ($0.name, $0.tensor.values) })
    for c in 0..<2 {
      let values = (0..<4).flatMap { n in (0..<9).map { inputs.storage[(n * 2 + c) * 9 + $0] } }
      let mean = values.reduce(0, +) / 36
      let unbiased = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 35
      XCTAssertEqual(state["bn.running_mean"]![c], 0.1 * mean, accuracy: 1e-14)
      XCTAssertEqual(state["bn.running_var"]![c], 0.9 + 0.1 * unbiased, accuracy: 1e-14)
    }
  }

  /// L = log Σ exp z − z_y, mean over rows; gradient (softmax − onehot)/B; accuracy by argmax.
  func testCrossEntropyValues() throws {
    let logits = Tensor<Double>(shape: [2, 3], storage: [1, 2, 3, 1000, 0, -1000])
    let loss = try CrossEntropyLoss(logits: logits, labels: [0, 0])
    let row0 = log(exp(1.0) + exp(2.0) + exp(3.0)) - 1
    XCTAssertEqual(loss.loss, row0 / 2, accuracy: 1e-12)
    XCTAssertEqual(loss.correct, 1)
    let z = exp(1.0) + exp(2.0) + exp(3.0)
    XCTAssertEqual(loss.gradient.storage[0], (exp(1.0) / z - 1) / 2, accuracy: 1e-15)
    XCTAssertEqual(loss.gradient.storage[2], exp(3.0) / z / 2, accuracy: 1e-15)
    XCTAssertEqual(loss.gradient.storage[3], 0, accuracy: 1e-15)
    XCTAssertThrowsError(try CrossEntropyLoss(logits: logits, labels: [0, 3]))
  }

  /// PyTorch SGD semantics on two steps, by hand: d = g + λθ; b = μb + d; θ −= ηb.
  func testSGDStepsMatchPyTorchSemantics() {
    var sgd = SGDMomentum<Double>(parameterCount: 2)
    var theta = [1.0, -2.0]
    sgd.step(parameters: &theta, gradient: [0.5, 0.25], learningRate: 0.1)
    let d1 = [0.5 + 5e-4 * 1, 0.25 + 5e-4 * -2]
    let t1 = [1 - 0.1 * d1[0], -2 - 0.1 * d1[1]]
    XCTAssertEqual(theta[0], t1[0], accuracy: 1e-15)
    XCTAssertEqual(theta[1], t1[1], accuracy: 1e-15)
    sgd.step(parameters: &theta, gradient: [-1, 0], learningRate: 0.05)
    let b2 = [0.9 * d1[0] + (-1 + 5e-4 * t1[0]), 0.9 * d1[1] + 5e-4 * t1[1]]
    XCTAssertEqual(theta[0], t1[0] - 0.05 * b2[0], accuracy: 1e-15)
    XCTAssertEqual(theta[1], t1[1] - 0.05 * b2[1], accuracy: 1e-15)
    XCTAssertEqual(SGDMomentum<Double>.cosineLearningRate(base: 0.1, epoch: 0, epochs: 200), 0.1)
    XCTAssertEqual(SGDMomentum<Double>.cosineLearningRate(base: 0.1, epoch: 100, epochs: 200), 0.05, accuracy: 1e-15)
    XCTAssertEqual(SGDMomentum<Double>.cosineLearningRate(base: 0.1, epoch: 50, epochs: 200), 0.05 * (1 + 0.5.squareRoot()), accuracy: 1e-15)
  }
}
