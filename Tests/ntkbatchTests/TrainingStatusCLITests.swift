import Checkpoint
import Foundation
import Storage
import XCTest

/// `status` of a `model.train` run (tester-s5 finding #5): the training stage from
/// `RUN/training/latest.json` — epoch committed of at most `model.train.epochs`, loss, accuracy,
/// finished or not, training now or not (the run's lock) and, while training, an ETA from the
/// record's seconds per epoch — in text and as `--json`'s `training`; a run directory holding a
/// training state is not "no journal".
final class TrainingStatusCLITests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("training-status") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  private func manifest(subsample: Int, train: [String: Any], name: String = "manifest") throws -> String {
    try CLIHarness.writeManifest([
      "name": "train-status",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": subsample],
      "model": ["name": "lenet", "seed": 0, "train": train.merging(["samples": subsample]) { given, _ in given }],
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 50],
    ], in: work, name: name)
  }

  private func statusJSON(_ run: String) throws -> [String: Any] {
    let result = try CLIHarness.succeed(["status", run, "--json"])
    return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
  }

  private func committedEpochs(_ path: String) -> Int {
    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
      .filter { $0.hasPrefix("epoch ") }.count
  }

  func testStatusShowsTheTrainingStageWhileTrainingAndAfterTheTrainerStopped() throws {
    let epochs = 100_000  // never reached: the test stops the training
    let path = try manifest(subsample: 100, train: ["epochs": epochs, "batchSize": 50, "targetAccuracy": 1.0])
    let run = "\(work)/run"
    let process = try CLIHarness.start(["run", path, "--run-dir", run, "--progress", "tiles"], logDirectory: work)
    defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
    CLIHarness.wait(for: process) { committedEpochs("\(work)/stdout.log") >= 2 }
    XCTAssertTrue(process.isRunning, CLIHarness.log(work, "stderr"))

    // While training: the epoch of at most `epochs`, training now, an ETA within one epoch of
    // (epochs left) × (seconds per epoch).
    let running = try CLIHarness.succeed(["status", run])
    XCTAssertTrue(running.stdout.contains("/\(epochs) committed (loss "), running.stdout)
    XCTAssertTrue(running.stdout.contains("; training now, "), running.stdout)
    XCTAssertTrue(running.stdout.contains("ETA "), running.stdout)
    XCTAssertTrue(running.stdout.contains("journal:  none yet: the eNTK's tiles are computed after training"), running.stdout)
    XCTAssertTrue(running.stdout.contains("writer:   running (pid \(process.processIdentifier)"), running.stdout)
    let live = try XCTUnwrap(try statusJSON(run)["training"] as? [String: Any])
    let epoch = try XCTUnwrap(live["epoch"] as? Int)
    XCTAssertGreaterThanOrEqual(epoch, 2)
    XCTAssertEqual(live["epochs"] as? Int, epochs)
    XCTAssertEqual(live["running"] as? Bool, true)
    XCTAssertEqual(live["finished"] as? Bool, false)
    XCTAssertEqual(live["epochsLeft"] as? Int, epochs - epoch)
    let perEpoch = try XCTUnwrap(live["secondsPerEpoch"] as? Double)
    let eta = try XCTUnwrap(live["etaSeconds"] as? Double)
    XCTAssertGreaterThan(perEpoch, 0)
    XCTAssertLessThanOrEqual(eta, perEpoch * Double(epochs - epoch) * (1 + 1e-12))
    XCTAssertGreaterThanOrEqual(eta, perEpoch * Double(epochs - epoch - 1) * (1 - 1e-12))
    XCTAssertNotNil((live["lastEpochAt"] as? String).flatMap(ISO8601DateFormatter().date(from:)))

    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 75)

    // Stopped: not "no journal" (exit 0), the committed epoch with its loss and accuracy, not
    // running, no ETA; the numbers are the record's.
    let record = try XCTUnwrap(try TrainingCheckpointStore(run: RunDirectory(path: run)).latestRecord())
    let stopped = try CLIHarness.succeed(["status", run])
    XCTAssertTrue(stopped.stdout.contains("training: epoch \(record.epoch)/\(epochs) committed (loss \(String(format: "%.4g", record.loss)), accuracy \(String(format: "%.2f", record.accuracy * 100))%) at \(record.finishedAt ?? "?")"), stopped.stdout)
    XCTAssertTrue(stopped.stdout.contains("; not running, "), stopped.stdout)
    XCTAssertTrue(stopped.stdout.contains("`ntkbatch run` continues at epoch \(record.epoch + 1)"), stopped.stdout)
    XCTAssertFalse(stopped.stdout.contains("ETA"), stopped.stdout)
    XCTAssertFalse(stopped.stdout.contains("writer:"), stopped.stdout)
    let json = try statusJSON(run)
    let training = try XCTUnwrap(json["training"] as? [String: Any])
    XCTAssertEqual(training["epoch"] as? Int, record.epoch)
    // (Foundation's JSON reader on Linux may be off in the last bit.)
    XCTAssertEqual(try XCTUnwrap(training["loss"] as? Double), record.loss, accuracy: 1e-12 * record.loss)
    XCTAssertEqual(try XCTUnwrap(training["accuracy"] as? Double), record.accuracy, accuracy: 1e-12)
    XCTAssertEqual(training["running"] as? Bool, false)
    let recordedSeconds = try XCTUnwrap(record.epochSeconds)
    XCTAssertEqual(try XCTUnwrap(training["secondsPerEpoch"] as? Double), recordedSeconds, accuracy: 1e-12 * recordedSeconds)
    XCTAssertNil(training["etaSeconds"])
    XCTAssertNil(json["writer"])

    // A record of an older version (no epoch times): no ETA or seconds per epoch is invented.
    var old = record
    (old.finishedAt, old.epochSeconds) = (nil, nil)
    try Data(JSONEncoder().encode(old)).write(to: URL(fileURLWithPath: "\(run)/training/latest.json"))
    let untimed = try XCTUnwrap(try statusJSON(run)["training"] as? [String: Any])
    XCTAssertEqual(untimed["epoch"] as? Int, record.epoch)
    XCTAssertNil(untimed["secondsPerEpoch"])
    XCTAssertNil(untimed["lastEpochAt"])
    XCTAssertFalse(try CLIHarness.succeed(["status", run]).stdout.contains("per epoch"))

    // A damaged training state: shown as such, exit 1 naming `repair`.
    try Data("{not json".utf8).write(to: URL(fileURLWithPath: "\(run)/training/latest.json"))
    let damaged = try CLIHarness.run(["status", run])
    XCTAssertEqual(damaged.status, 1)
    XCTAssertTrue(damaged.stdout.contains("training: DAMAGED: \(run)/training/latest.json: not a training record"), damaged.stdout)
    XCTAssertTrue(damaged.stderr.contains("ntkbatch repair"), damaged.stderr)

    // Set aside by repair: no epoch committed any more, as for a run stopped before committing its
    // first (a tester's: `run` interrupted 0.7 s in, then `status` and `verify` said "no journal",
    // exit 1, and told to start from the first tile): the training stage, not running, exit 0.
    try CLIHarness.succeed(["repair", run])
    let none = try CLIHarness.succeed(["status", run])
    XCTAssertTrue(none.stdout.contains("training: no epoch/\(epochs) committed yet; not running: `ntkbatch run` starts training at epoch 1"), none.stdout)
    XCTAssertTrue(none.stdout.contains("journal:  none yet: the eNTK's tiles are computed after training"), none.stdout)
    let noneJSON = try XCTUnwrap(try statusJSON(run)["training"] as? [String: Any])
    XCTAssertEqual(noneJSON["epoch"] as? Int, 0)
    XCTAssertEqual(noneJSON["running"] as? Bool, false)
    let verified = try CLIHarness.succeed(["verify", run])
    XCTAssertTrue(verified.stdout.contains("no tiles planned yet: the run is in its training stage, no epoch/\(epochs) committed yet"), verified.stdout)
  }

  /// Interrupted before its first epoch was committed (no `training/` yet): the training stage
  /// from `RUN/manifest.json`'s `model.train`, exit 0 for `status` and `verify`.
  func testARunStoppedBeforeItsFirstEpochIsInItsTrainingStage() throws {
    let path = try manifest(subsample: 40, train: ["epochs": 3, "batchSize": 20, "targetAccuracy": 1.0])
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none"])
    // As a session stopped during epoch 1 leaves it: the manifest, an empty journal folder.
    for name in ["training", "journal", "objects"] { try FileManager.default.removeItem(atPath: "\(run)/\(name)") }
    try FileManager.default.createDirectory(atPath: "\(run)/journal", withIntermediateDirectories: false)
    let status = try CLIHarness.succeed(["status", run])
    XCTAssertTrue(status.stdout.contains("training: no epoch/3 committed yet; not running"), status.stdout)
    XCTAssertTrue(try CLIHarness.succeed(["verify", run]).stdout.contains("the run is in its training stage"))
    // A run directory without model.train and without a journal is still "no journal", exit 1.
    let plain = try CLIHarness.writeManifest([
      "name": "plain", "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 20],
      "model": ["name": "lenet", "seed": 0], "ntk": ["tileSamples": 20],
    ], in: work, name: "plain")
    let other = "\(work)/plain-run"
    try CLIHarness.succeed(["run", plain, "--run-dir", other, "--progress", "none"])
    for segment in try FileManager.default.contentsOfDirectory(atPath: "\(other)/journal") {
      try FileManager.default.removeItem(atPath: "\(other)/journal/\(segment)")
    }
    let missing = try CLIHarness.run(["status", other])
    XCTAssertEqual(missing.status, 1)
    XCTAssertTrue(missing.stderr.contains("no journal"), missing.stderr)
  }

  /// A run whose journal holds tiles and whose training state is gone trains again, says so, and
  /// with the same thread count gets the journaled tiles' weights back: it resumes (exit 0) and
  /// export-weights has the weights again (RetrainedWeightsTests has the refusal of other weights).
  func testTrainingAgainAfterTheTrainingStateIsGoneSaysSoAndResumes() throws {
    let path = try manifest(subsample: 40, train: ["epochs": 2, "batchSize": 20, "targetAccuracy": 1.0])
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none"])
    try CLIHarness.succeed(["export-weights", run, "--output", "\(work)/first.safetensors"])
    try FileManager.default.removeItem(atPath: "\(run)/training")
    let again = try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none"])
    XCTAssertTrue(again.stderr.contains("\(run): its tiles were computed from trained weights whose training state is gone; training again"), again.stderr)
    try CLIHarness.succeed(["export-weights", run, "--output", "\(work)/again.safetensors"])
    XCTAssertEqual(try FileBytes.read(path: "\(work)/again.safetensors"), try FileBytes.read(path: "\(work)/first.safetensors"))
    // Resumed with its training state in place: no such line.
    XCTAssertFalse(try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none"]).stderr.contains("training again"))
  }

  /// A finished training and a complete eNTK: the training line says finished, `--json` too.
  func testStatusOfACompleteTrainedRunSaysTheTrainingFinished() throws {
    let path = try manifest(subsample: 40, train: ["epochs": 2, "batchSize": 20, "targetAccuracy": 1.0])
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none"])
    let text = try CLIHarness.succeed(["status", run]).stdout
    XCTAssertTrue(text.contains("training: epoch 2/2 committed (loss "), text)
    XCTAssertTrue(text.contains(", training finished\n"), text)
    XCTAssertTrue(text.contains("tiles:    1/1"), text)
    let json = try statusJSON(run)
    let training = try XCTUnwrap(json["training"] as? [String: Any])
    XCTAssertEqual(training["finished"] as? Bool, true)
    XCTAssertEqual(training["running"] as? Bool, false)
    XCTAssertNil(training["epochsLeft"])
    XCTAssertEqual(json["complete"] as? Bool, true)
  }
}
