import Checkpoint
import Engine
import Foundation
@testable import Pipeline
import Storage
import XCTest

/// A `model.train` run whose training state is gone trains again; weights other than those its
/// journaled tiles were computed from (training orders its BLAS sums by OPENBLAS_NUM_THREADS and
/// build: a tester's run trained again with 1 thread instead of 2) are refused, and their
/// training state moved aside — before, it stayed in `RUN/training`, so every later `run` refused
/// the directory ("different weights hash"), `verify` said clean and `export-weights` wrote
/// weights that were not the tiles'.
final class RetrainedWeightsTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws {
    work = NSTemporaryDirectory() + "ntkbatch-retrained-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: work + "/training", withIntermediateDirectories: true)
    try Data("{}".utf8).write(to: URL(fileURLWithPath: work + "/training/latest.json"))
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  private func model(seed: UInt64) throws -> Model<Double> {
    var model = try ModelZoo.make(name: "lenet", width: 64, scalar: Double.self)
    model.initialize(seed: seed)
    return model
  }

  func testOtherWeightsAreRefusedAndTheirTrainingStateMovedAside() throws {
    let run = RunDirectory(path: work)
    let journaled = WeightsLoader.hash(try model(seed: 3))
    XCTAssertThrowsError(try RunPipeline.refuseRetrainedWeights(model: try model(seed: 4), journaled: journaled, run: run)) { error in
      let error = error as! CheckpointError
      XCTAssertEqual(error.code, .identityMismatch)
      XCTAssertTrue(error.message.contains("other than those its journaled tiles were computed from (\(journaled.hex.prefix(12))…)"), error.message)
      XCTAssertTrue(error.message.contains("OPENBLAS_NUM_THREADS"), error.message)
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/training"))
    let aside = try FileManager.default.contentsOfDirectory(atPath: work).filter { $0.hasPrefix("training.other-weights-") }
    XCTAssertEqual(aside.count, 1)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work + "/" + aside[0]), ["latest.json"])
    // With the state moved aside, export-weights finds no trained weights to misattribute.
    XCTAssertNil(try TrainingCheckpointStore(run: run).latestRecord())
  }

  func testTheSameWeightsPassAndLeaveTheTrainingStateInPlace() throws {
    let run = RunDirectory(path: work)
    try RunPipeline.refuseRetrainedWeights(model: try model(seed: 3), journaled: WeightsLoader.hash(try model(seed: 3)), run: run)
    XCTAssertTrue(FileManager.default.fileExists(atPath: work + "/training/latest.json"))
  }
}
