import Datasets
import Foundation
import Storage
import TestSupport
import XCTest

@testable import Engine

/// The trainer end to end: determinism, resuming from a saved state, and LeNet learning MNIST.
final class TrainingTrainerTests: XCTestCase {
  func mnist(_ count: Int) throws -> (Tensor<Float>, [Int]) {
    func idx(_ name: String) throws -> IDXFile {
      let path = TestPaths.repository.appendingPathComponent("data/mnist-sample/\(name)").path
      return try IDXFile(bytes: try Gzip.decompressIfNeeded(bytes: try FileBytes.read(path: path)), name: name)
    }
    let images = try MNISTTransform().tensor(images: try idx("train-images-idx3-ubyte.gz"), range: 0..<count, scalar: Float.self)
    return (images, Array(try idx("train-labels-idx1-ubyte.gz").labels().prefix(count)))
  }

  /// Two epochs straight equal one epoch, a copy of (model, state), and one more epoch.
  func testResumingFromASavedStateIsBitIdentical() throws {
    let (images, labels) = try mnist(200)
    var model = try ModelZoo.make(name: "resnet9", width: 2, scalar: Float.self)
    model.initialize(seed: 1)
    let trainer = try Trainer(
      configuration: TrainingConfiguration(learningRate: 0.05, batchSize: 32, epochs: 4, targetAccuracy: 0.995, seed: 9),
      inputs: images, labels: labels, augmentation: .standard(for: .mnist))
    var straight = model
    var straightState = TrainingState<Float>(configuration: trainer.configuration, parameterCount: model.parameterCount)
    _ = try trainer.runEpoch(model: &straight, state: &straightState)
    let savedModel = straight, savedState = straightState
    _ = try trainer.runEpoch(model: &straight, state: &straightState)

    var resumed = savedModel
    var resumedState = savedState
    _ = try trainer.runEpoch(model: &resumed, state: &resumedState)
    XCTAssertEqual(resumed.stateValues, straight.stateValues)
    XCTAssertEqual(resumedState, straightState)
    XCTAssertEqual(straightState.batchesSeen, 14)
    XCTAssertNotEqual(straight.stateValues, model.stateValues)
    let runningVar = straight.stateEntries.first { $0.name == "bn1.running_var" }!
    XCTAssertNotEqual(straight.stateValues[runningVar.stateOffset], 1, "running statistics are updated")
  }

  /// The "done when" criterion: LeNet on the 5,000 shipped MNIST images passes 95 % training
  /// accuracy (measured on the epoch's augmented batches) within 30 epochs (it passes at epoch 14, ~50 s in a
  /// release build on 2 cores).
  func testLeNetLearnsTheMNISTSample() throws {
    let (images, labels) = try mnist(5000)
    var model = try ModelZoo.make(name: "lenet", scalar: Float.self)
    model.initialize(seed: 0)
    let trainer = try Trainer(
      configuration: TrainingConfiguration(learningRate: 0.05, batchSize: 64, epochs: 30, targetAccuracy: 0.95, seed: 0),
      inputs: images, labels: labels, augmentation: .standard(for: .mnist))
    var state = TrainingState<Float>(configuration: trainer.configuration, parameterCount: model.parameterCount)
    let started = Date()
    var history: [String] = []
    while !trainer.isFinished(state) {
      let summary = try trainer.runEpoch(model: &model, state: &state)
      history.append(String(format: "%d: loss %.3f acc %.3f", summary.epoch, summary.loss, summary.accuracy))
    }
    print("LeNet on MNIST sample: \(history.joined(separator: "; ")) in \(Int(Date().timeIntervalSince(started))) s")
    XCTAssertGreaterThan(state.lastAccuracy ?? 0, 0.95, history.joined(separator: "; "))
  }
}
