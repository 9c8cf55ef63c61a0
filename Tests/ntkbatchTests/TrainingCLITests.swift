import Checkpoint
import Foundation
import Storage
import XCTest

/// `run` with `model.train` through the built binary: SIGKILL during training and resume gives
/// byte-identical weights; exported weights round-trip into `run` with the same logits.
final class TrainingCLITests: XCTestCase {
  func manifest(in directory: String, model: String = "lenet", width: Int? = nil, subsample: Int, train: [String: Any],
                name: String = "manifest") throws -> String {
    // Train on the eNTK's samples only, to keep the tests short (the default is the whole split).
    let training = train.merging(["samples": subsample]) { given, _ in given }
    var modelObject: [String: Any] = ["name": model, "seed": 0, "train": training]
    if let width { modelObject["width"] = width }
    return try CLIHarness.writeManifest([
      "name": "train",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": subsample],
      "model": modelObject,
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 50],
    ], in: directory, name: name)
  }

  /// Epoch numbers a session printed (`--progress tiles` prints `epoch N loss … accuracy …`).
  func epochs(in stdout: String) -> [Int] {
    stdout.split(separator: "\n").compactMap { line in
      let words = line.split(separator: " ")
      return words.count >= 2 && words[0] == "epoch" ? Int(words[1]) : nil
    }
  }

  func testSIGKILLDuringTrainingThenResumeGivesByteIdenticalWeights() throws {
    let work = try CLIHarness.temporaryDirectory("train-kill")
    defer { try? FileManager.default.removeItem(atPath: work) }
    let path = try manifest(in: work, subsample: 400, train: ["epochs": 6, "lr": 0.05, "batchSize": 32, "seed": 3])

    var started = Date()
    try CLIHarness.succeed(["run", path, "--run-dir", "\(work)/straight", "--progress", "none"])
    let straightSeconds = Date().timeIntervalSince(started)
    try CLIHarness.succeed(["export-weights", "\(work)/straight", "--output", "\(work)/straight.safetensors"])

    var kills = 0
    var generator = SystemRandomNumberGenerator()
    var printedEpochs: [Int] = []
    started = Date()
    for session in 0..<30 {
      let logs = "\(work)/session-\(session)"
      try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
      let process = try CLIHarness.start(["run", path, "--run-dir", "\(work)/killed", "--progress", "tiles"], logDirectory: logs)
      // Wait for the next epoch to be committed, then kill at a random moment of the following one.
      let before = printedEpochs.max() ?? 0
      let deadline = Date().addingTimeInterval(120)
      while process.isRunning, Date() < deadline,
            (epochs(in: CLIHarness.log(logs, "stdout")).max() ?? before) <= before {
        usleep(2_000)
      }
      usleep(UInt32.random(in: 0...UInt32(max(1, straightSeconds / 12 * 1e6)), using: &generator))
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        kills += 1
      }
      process.waitUntilExit()
      let sessionEpochs = epochs(in: try String(contentsOfFile: logs + "/stdout.log", encoding: .utf8))
      XCTAssertEqual(sessionEpochs.first.map { $0 > before } ?? true, true, "an epoch was trained twice")
      printedEpochs += sessionEpochs
      if process.terminationReason == .exit {
        XCTAssertEqual(process.terminationStatus, 0, CLIHarness.log(logs, "stderr"))
        break
      }
    }
    print("training kill test: \(kills) kills, straight run \(Int(straightSeconds)) s, killed runs \(Int(Date().timeIntervalSince(started))) s")
    XCTAssertGreaterThanOrEqual(kills, 2, "the run finished before it could be killed twice")
    // An epoch is printed after its commit: a committed epoch must never be trained again (a kill
    // between commit and print may leave an epoch unprinted, which is fine).
    XCTAssertEqual(printedEpochs, Array(Set(printedEpochs)).sorted(), "a committed epoch was trained again")
    XCTAssertEqual(printedEpochs.last, 6)

    try CLIHarness.succeed(["export-weights", "\(work)/killed", "--output", "\(work)/killed.safetensors"])
    let straight = try FileBytes.read(path: "\(work)/straight.safetensors")
    XCTAssertTrue(straight == (try FileBytes.read(path: "\(work)/killed.safetensors")), "resumed training ended with other weights")
    XCTAssertTrue(try FileBytes.read(path: "\(work)/straight/logits.npy") == FileBytes.read(path: "\(work)/killed/logits.npy"))
    try CLIHarness.succeed(["verify", "\(work)/killed"])
  }

  /// resnet9 (with BatchNorm): export → our reader → `run` with `model.weights` gives the trained
  /// run's logits exactly; keys are the PyTorch state_dict's, with I64 num_batches_tracked.
  func testExportedWeightsRoundTripToTheSameLogits() throws {
    let work = try CLIHarness.temporaryDirectory("train-export")
    defer { try? FileManager.default.removeItem(atPath: work) }
    let trained = try manifest(in: work, model: "resnet9", width: 2, subsample: 40,
                               train: ["epochs": 2, "batchSize": 16, "lr": 0.05], name: "trained")
    try CLIHarness.succeed(["run", trained, "--run-dir", "\(work)/trained", "--progress", "none"])
    let exported = "\(work)/weights.safetensors"
    try CLIHarness.succeed(["export-weights", "\(work)/trained", "--output", exported])

    let file = try SafetensorsFile.read(path: exported)
    // 3 batches per epoch (16 + 16 + 8) × 2 epochs.
    let counter = try XCTUnwrap(file.tensors["layer2.0.shortcut.1.num_batches_tracked"])
    XCTAssertEqual(counter.dtype, "I64")
    XCTAssertEqual(counter.shape, [])
    XCTAssertEqual(counter.doubles(), [6])
    XCTAssertEqual(file.tensors["conv1.weight"]?.dtype, "F32")
    XCTAssertEqual(file.tensors["bn1.running_var"]?.shape, [2])
    XCTAssertNil(file.tensors["optimizer.momentum_buffer"])
    XCTAssertNotEqual(file.tensors["bn1.running_var"]?.doubles(), [1, 1], "running statistics were trained")
    XCTAssertEqual(file.names.filter { $0.hasSuffix("num_batches_tracked") }.count, 12)  // bn1 + 2 + 3 + 3 + 3

    let reloaded = try CLIHarness.writeManifest([
      "name": "reloaded",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 40],
      "model": ["name": "resnet9", "width": 2, "weights": exported],
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 50],
    ], in: work, name: "reloaded")
    try CLIHarness.succeed(["run", reloaded, "--run-dir", "\(work)/reloaded", "--progress", "none"])
    let logits = try FileBytes.read(path: "\(work)/trained/logits.npy")
    XCTAssertTrue(logits == (try FileBytes.read(path: "\(work)/reloaded/logits.npy")), "exported weights give other logits")
    // And the eNTKs agree: both runs are of the same weights.
    try CLIHarness.succeed(["assemble", "\(work)/trained", "--dtype", "float32", "--output", "\(work)/a.npy"])
    try CLIHarness.succeed(["assemble", "\(work)/reloaded", "--dtype", "float32", "--output", "\(work)/b.npy"])
    XCTAssertTrue(try FileBytes.read(path: "\(work)/a.npy") == FileBytes.read(path: "\(work)/b.npy"))
  }

  /// SIGTERM during training: exit code 75 after the batch in progress, the last committed epoch
  /// kept (an epoch in progress is abandoned); the next session continues at the following epoch.
  func testSIGTERMStopsTrainingAfterTheEpochAndResumes() throws {
    let work = try CLIHarness.temporaryDirectory("train-term")
    defer { try? FileManager.default.removeItem(atPath: work) }
    let path = try manifest(in: work, subsample: 100, train: ["epochs": 400, "batchSize": 50, "targetAccuracy": 1.0])
    let logs = work + "/logs"
    try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
    let process = try CLIHarness.start(["run", path, "--run-dir", "\(work)/run", "--progress", "tiles"], logDirectory: logs)
    let deadline = Date().addingTimeInterval(120)
    while process.isRunning, Date() < deadline,
          epochs(in: CLIHarness.log(logs, "stdout")).isEmpty {
      usleep(2_000)
    }
    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 75)
    let done = try XCTUnwrap(epochs(in: try String(contentsOfFile: logs + "/stdout.log", encoding: .utf8)).last)
    let record = try XCTUnwrap(TrainingCheckpointStore(run: RunDirectory(path: "\(work)/run")).latest()?.record)
    XCTAssertEqual(record.epoch, done)
    XCTAssertFalse(record.finished)
    XCTAssertEqual(record.batchesSeen, 2 * done)

    let again = try CLIHarness.start(["run", path, "--run-dir", "\(work)/run", "--progress", "tiles"], logDirectory: logs)
    while again.isRunning, epochs(in: CLIHarness.log(logs, "stdout")).isEmpty {
      usleep(2_000)
    }
    kill(again.processIdentifier, SIGKILL)
    again.waitUntilExit()
    XCTAssertEqual(epochs(in: try String(contentsOfFile: logs + "/stdout.log", encoding: .utf8)).first, done + 1)
  }

  func testExportBeforeTrainingIsBadInput() throws {
    let work = try CLIHarness.temporaryDirectory("train-none")
    defer { try? FileManager.default.removeItem(atPath: work) }
    try FileManager.default.createDirectory(atPath: "\(work)/run", withIntermediateDirectories: true)
    let result = try CLIHarness.run(["export-weights", "\(work)/run", "--output", "\(work)/w.safetensors"])
    XCTAssertEqual(result.status, 2)
    XCTAssertTrue(result.stderr.contains("no trained weights"), result.stderr)
  }
}
