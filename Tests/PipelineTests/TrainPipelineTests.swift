import Checkpoint
import Datasets
import Engine
import Foundation
@testable import Pipeline
import Storage
import TestSupport
import XCTest

/// A reporter that records the training calls it gets, in order.
final class TrainingRecorder: RunReporter {
  var detail: ReportDetail = .quiet
  var calls: [String] = []
  /// Called with (epoch, batch) after each batch is recorded.
  var onBatch: (Int, Int) -> Void = { _, _ in }
  func tilesStarted() {}
  func tileFinished(index: Int, row: Int, column: Int, seconds: Double, state: RunProgress) {}
  func tilesFinished() {}
  func trainingStarted(epochs: Int, resumedAt: Int) { calls.append("started \(epochs) \(resumedAt)") }
  func batchFinished(epoch: Int, batch: Int, of total: Int) {
    calls.append("batch \(epoch) \(batch)/\(total)")
    onBatch(epoch, batch)
  }
  func epochFinished(_ summary: EpochSummary, seconds: Double) { calls.append("epoch \(summary.epoch)") }
  func trainingFinished() { calls.append("finished") }
}

/// `TrainPipeline` with the stop requests and reporter passed in: a stop request abandons the
/// epoch in progress after the batch in progress (the last committed epoch stays the latest), and
/// the next session resumes to the weights of an uninterrupted training (bit for bit).
final class TrainPipelineTests: XCTestCase {
  func manifest() -> Manifest {
    let root = RunPipelineValueTests.repository + "/data/mnist-sample"
    return Manifest(
      name: "train", dataset: .init(name: "mnist", root: root, subsample: 8),
      model: .init(name: "lenet", seed: 1, train: Manifest.Training(lr: 0.01, batchSize: 4, epochs: 3, targetAccuracy: 1.01, seed: 2)),
      ntk: .init(precision: .float64), baseDirectory: RunPipelineValueTests.repository)
  }

  func testStopAbandonsTheEpochAfterTheBatchAndResumeMatchesUninterruptedTraining() throws {
    let directory = try TemporaryDirectory("pipeline-train")
    defer { directory.remove() }
    let manifest = manifest()
    let dataset = try DatasetLoader.load(manifest, scalar: Double.self, showProgress: false)
    XCTAssertEqual(dataset.labels?.count, 8)
    let initial = try WeightsLoader.model(for: manifest, scalar: Double.self)

    let stop = TestStop()
    let recorder = TrainingRecorder()
    recorder.onBatch = { epoch, batch in if epoch == 2 && batch == 1 { stop.requested = true } }  // mid-epoch 2
    let interrupted = RunDirectory(path: directory.path + "/interrupted")
    let stopped = try TrainPipeline(manifest: manifest, run: interrupted, reporter: recorder, stop: stop).train(initial, dataset: dataset)
    XCTAssertNil(stopped)
    XCTAssertEqual(stop.activities, [TrainPipeline.stopActivity])
    XCTAssertEqual(recorder.calls, ["started 3 0", "batch 1 1/2", "batch 1 2/2", "epoch 1", "batch 2 1/2", "finished"])
    XCTAssertEqual(try TrainingCheckpointStore(run: interrupted).latest()?.record.epoch, 1)

    let resumedRecorder = TrainingRecorder()
    let resumed = try XCTUnwrap(try TrainPipeline(manifest: manifest, run: interrupted, reporter: resumedRecorder, stop: TestStop())
      .train(initial, dataset: dataset))
    XCTAssertEqual(resumedRecorder.calls.first, "started 3 1")
    XCTAssertEqual(resumedRecorder.calls.filter { $0.hasPrefix("epoch") }, ["epoch 2", "epoch 3"])

    let uninterrupted = try XCTUnwrap(try TrainPipeline(
      manifest: manifest, run: RunDirectory(path: directory.path + "/uninterrupted"), reporter: TrainingRecorder(), stop: TestStop())
      .train(initial, dataset: dataset))
    XCTAssertEqual(WeightsLoader.hash(resumed), WeightsLoader.hash(uninterrupted))
    XCTAssertNotEqual(WeightsLoader.hash(resumed), WeightsLoader.hash(initial))
  }
}
