import Checkpoint
import Storage
import Foundation
import XCTest

/// Findings of the earlier fresh testers (tester-s4, tester-s5) left undone until session 6:
/// each one's refusal or message, end to end through the `ntkbatch` executable.
final class TesterLeftoversTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("tester-leftovers") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  private func manifest(name: String, model: [String: Any] = ["name": "lenet", "seed": 0], subsample: Int = 20,
                        tileSamples: Int = 10, kernel: String? = nil) throws -> String {
    var ntk: [String: Any] = ["precision": "float32", "normalization": "sqrt-params", "tileSamples": tileSamples]
    if let kernel { ntk["kernel"] = kernel }
    return try CLIHarness.writeManifest([
      "name": name,
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": subsample],
      "model": model,
      "ntk": ntk,
    ], in: work, name: name)
  }

  private func assertOneLineBadInput(_ result: CLIHarness.Result, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(result.status, 2, result.stderr, file: file, line: line)
    XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr, file: file, line: line)
    XCTAssertTrue(result.stderr.hasPrefix("ntkbatch: error: "), result.stderr, file: file, line: line)
    XCTAssertTrue(result.stderr.contains(expected), "expected \(expected) in: \(result.stderr)", file: file, line: line)
  }

  /// Names of the files that differ between two `CLIHarness.fileTree`s (added, removed or changed).
  private func changedFiles(_ a: [String: [UInt8]], _ b: [String: [UInt8]]) -> [String] {
    Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
  }

  // MARK: - 1. model.width on a model without one

  /// `run`, `check` and `slurm` refuse `model.width` 8 on lenet alike (exit 2, one line naming
  /// the file and field), leaving an existing run of the width-less manifest as it was; 64 (the
  /// default, what `generate` writes) is the same computation as no width; `generate --width 8`
  /// gives only the ResNets that width.
  func testAWidthOnAModelWithoutOneIsRefusedByEveryCommand() throws {
    let plain = try manifest(name: "plain")
    let run = "\(work)/runs/plain"
    try CLIHarness.succeed(["run", plain, "--run-dir", run, "--progress", "none"])
    let before = try CLIHarness.fileTree(run)
    let eight = try manifest(name: "plain", model: ["name": "lenet", "seed": 0, "width": 8])
    let expected = "\(eight): model.width: lenet has no width (only resnet101, resnet152, resnet18, resnet34, resnet50, resnet68, resnet9 have one), found 8; remove model.width"
    for arguments in [["run", eight, "--run-dir", run, "--progress", "none"], ["check", eight],
                      ["slurm", eight, "--array", "2", "--time", "1:00:00", "--run-dir", run]] {
      assertOneLineBadInput(try CLIHarness.run(arguments), expected)
    }
    XCTAssertEqual(changedFiles(try CLIHarness.fileTree(run), before), [])
    // The default width is no width: the same run, complete, resumed as it is.
    let sixtyFour = try manifest(name: "plain", model: ["name": "lenet", "seed": 0, "width": 64])
    try CLIHarness.succeed(["run", sixtyFour, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(changedFiles(try CLIHarness.fileTree(run), before), ["lock"])  // the session's lock names its holder

    // generate: the ResNets get --width, lenet the default.
    let out = "\(work)/gen"
    try CLIHarness.succeed(["generate", "--models", "lenet", "--dataset", "mnist", "--root", "\(CLIHarness.repositoryRoot)/data/mnist-sample",
                            "--width", "8", "--subsample", "10", "--train-samples", "10", "--num-epochs", "1", "--bs", "10",
                            "--tile-samples", "10", "--output", out, "--progress", "none"])
    let written = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/lenet-mnist-r0.json"))) as? [String: Any]
    XCTAssertEqual((written?["model"] as? [String: Any])?["width"] as? Int, 64)
  }
}

extension TesterLeftoversTests {
  // MARK: - 2. --format against the output's name

  /// `--format zarr --output k.npy` and `--format npy --output k.zarr` are refused before any
  /// work (a usage error, 64, naming both), nothing written; a name with neither extension takes
  /// the format given.
  func testAFormatContradictingTheOutputNameIsRefused() throws {
    let path = try manifest(name: "f", subsample: 10, tileSamples: 10)
    let run = "\(work)/runs/f"
    try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none"])
    for (format, output) in [("zarr", "\(work)/k.npy"), ("npy", "\(work)/k.zarr"), ("npy", "\(work)/k.zarr/")] {
      let result = try CLIHarness.run(["assemble", run, "--format", format, "--output", output, "--progress", "none"])
      XCTAssertEqual(result.status, 64, result.stderr)
      XCTAssertTrue(result.stderr.contains("--format \(format) contradicts --output \(output)"), result.stderr)
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/k.npy"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/k.zarr"))
    try CLIHarness.succeed(["assemble", run, "--format", "zarr", "--output", "\(work)/kernel", "--progress", "none"])
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(work)/kernel/zarr.json"))
  }
}

extension TesterLeftoversTests {
  // MARK: - 4. verify of a run still training

  /// `verify` of a `model.train` run in its training stage says so, with the stage `status`
  /// shows (exit 0), while training and after the trainer stopped: not "0 of 0 journaled tiles
  /// intact" (while training) nor "no journal", exit 1 (stopped).
  func testVerifyOfARunStillTrainingSaysSo() throws {
    let epochs = 100_000  // never reached: the test stops the training
    let path = try CLIHarness.writeManifest([
      "name": "training",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 100],
      "model": ["name": "lenet", "seed": 0, "train": ["epochs": epochs, "batchSize": 50, "targetAccuracy": 1.0, "samples": 100]],
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 50],
    ], in: work, name: "training")
    let run = "\(work)/run"
    let logs = "\(work)/logs"
    try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
    let process = try CLIHarness.start(["run", path, "--run-dir", run, "--progress", "tiles"], logDirectory: logs)
    defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
    func committed() -> Int {
      CLIHarness.log(logs, "stdout").split(separator: "\n").filter { $0.hasPrefix("epoch ") }.count
    }
    CLIHarness.wait(for: process) { committed() >= 2 }
    XCTAssertTrue(process.isRunning, CLIHarness.log(logs, "stderr"))

    let running = try CLIHarness.succeed(["verify", run, "--progress", "none"])
    XCTAssertFalse(running.stdout.contains("0 of 0"), running.stdout)
    XCTAssertTrue(running.stdout.contains("no tiles planned yet: the run is in its training stage, epoch "), running.stdout)
    XCTAssertTrue(running.stdout.contains("/\(epochs) committed (loss "), running.stdout)
    XCTAssertTrue(running.stdout.contains("; training now, "), running.stdout)
    XCTAssertTrue(running.stdout.contains("the eNTK's tiles are computed after training; a writer is running (pid \(process.processIdentifier)"), running.stdout)

    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 75)
    let stopped = try CLIHarness.succeed(["verify", run, "--progress", "none"])
    XCTAssertTrue(stopped.stdout.contains("no tiles planned yet: the run is in its training stage, epoch "), stopped.stdout)
    XCTAssertTrue(stopped.stdout.contains("; not running, "), stopped.stdout)
    XCTAssertFalse(stopped.stdout.contains("a writer is running"), stopped.stdout)
    XCTAssertEqual(stopped.stderr, "")
  }
}

extension TesterLeftoversTests {
  // MARK: - 5. generate after a new --root

  /// A complete generated run whose data moved: `generate --root` with a non-normalised path
  /// writes the normalised absolute one, says the manifest was rewritten and that the moved run
  /// resumes with its training complete — not "resuming a moved run's training"; the run stays
  /// complete (nothing recomputed).
  func testGenerateAfterANewRootNormalisesItAndSaysTheTrainingIsComplete() throws {
    let out = "\(work)/gen"
    let options = ["--subsample", "10", "--train-samples", "10", "--num-epochs", "1", "--bs", "10", "--tile-samples", "10",
                   "--output", out, "--progress", "none"]
    try CLIHarness.succeed(["generate", "--models", "lenet", "--dataset", "mnist", "--root", "\(CLIHarness.repositoryRoot)/data/mnist-sample"] + options)
    try FileManager.default.createDirectory(atPath: "\(work)/sub", withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: "\(work)/data2", withDestinationPath: "\(CLIHarness.repositoryRoot)/data/mnist-sample")
    let tilesBefore = try FileManager.default.contentsOfDirectory(atPath: "\(out)/runs/lenet-mnist-r0/objects").sorted()
    let moved = try CLIHarness.succeed(["generate", "--models", "lenet", "--dataset", "mnist", "--root", "\(work)/sub/../data2/"] + options)
    let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/lenet-mnist-r0.json"))) as? [String: Any]
    XCTAssertEqual((manifest?["dataset"] as? [String: Any])?["root"] as? String, "\(work)/data2")
    XCTAssertTrue(moved.stderr.contains("dataset.root (file has \"\(CLIHarness.repositoryRoot)/data/mnist-sample\", now \"\(work)/data2\"): rewritten"), moved.stderr)
    XCTAssertFalse(moved.stderr.contains("moved run's training"), moved.stderr)
    XCTAssertTrue(moved.stderr.contains("resuming a moved run (same data, weights and settings; its training is complete): dataset.root"), moved.stderr)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(out)/runs/lenet-mnist-r0/objects").sorted(), tilesBefore)
  }
}

extension TesterLeftoversTests {
  // MARK: - 7. slurm --mem on an existing run directory

  /// How often `ntkbatch arguments…` opens the dataset's image file, counted by `strace` (Debian's
  /// `strace`, installed with apt-get as root when missing).
  private func imageFileOpens(_ arguments: [String]) throws -> (opens: Int, status: Int32, output: String) {
    if !FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), getuid() == 0,
       FileManager.default.isExecutableFile(atPath: "/usr/bin/apt-get") {
      try PythonEnvironment.shell("/usr/bin/apt-get", ["update", "-qq"])
      try PythonEnvironment.shell("/usr/bin/env", ["DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", "strace"])
    }
    XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "this test needs strace (Debian: apt-get install strace)")
    let trace = "\(work)/trace-\(UUID().uuidString).txt"
    let result = try PythonEnvironment.shell("/usr/bin/strace", ["-f", "-e", "trace=openat", "-o", trace, CLIHarness.binary.path] + arguments)
    let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
    return (lines.filter { $0.contains("train-images-idx3-ubyte") && !$0.contains("ENOENT") }.count, result.status, result.output)
  }

  /// `slurm --mem` on a run directory with a journal loads the dataset once — for the run
  /// directory's identity check and the memory check together — as often as `slurm` without
  /// `--mem` (identity check only); both checks still refuse: another manifest's run directory,
  /// and a --mem too small.
  func testSlurmMemOnAnExistingRunLoadsTheDataOnce() throws {
    let path = try manifest(name: "s", subsample: 20, tileSamples: 10)
    let run = "\(work)/runs/s"
    try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none"])
    let slurm = ["slurm", path, "--array", "2", "--time", "1:00:00", "--run-dir", run]
    let plain = try imageFileOpens(slurm)
    XCTAssertEqual(plain.status, 0, plain.output)
    let withMem = try imageFileOpens(slurm + ["--mem", "8G"])
    XCTAssertEqual(withMem.status, 0, withMem.output)
    XCTAssertGreaterThan(plain.opens, 0)
    XCTAssertEqual(withMem.opens, plain.opens, "slurm --mem opens the images \(withMem.opens) times, slurm without --mem \(plain.opens)")

    let other = try manifest(name: "o", subsample: 30, tileSamples: 10)
    assertOneLineBadInput(try CLIHarness.run(["slurm", other, "--array", "2", "--time", "1:00:00", "--run-dir", run, "--mem", "8G"]),
                          "holds another computation")
    assertOneLineBadInput(try CLIHarness.run(slurm + ["--mem", "1M"]), "--mem 1M: ntk.tileSamples 10 of \(path) needs about")
  }
}

extension TesterLeftoversTests {
  // MARK: - 8. SIGTERM during a long training epoch

  /// SIGTERM just after epoch 1 is committed, at the start of a long epoch 2 (LeNet on 5,000
  /// digits in batches of 8: hundreds of batches): exit 75 after the batch in progress — in well
  /// under half an epoch, not at its end — naming the abandoned epoch; the latest committed epoch
  /// stays 1, and the next session repeats epoch 2 from it.
  func testSIGTERMDuringALongTrainingEpochStopsAfterTheBatch() throws {
    let path = try CLIHarness.writeManifest([
      "name": "long-epoch",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 10],
      "model": ["name": "lenet", "seed": 0, "train": ["epochs": 50, "batchSize": 8, "targetAccuracy": 1.0, "samples": 5000, "lr": 0.01]],
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 10],
    ], in: work, name: "long-epoch")
    let run = "\(work)/run"
    let logs = "\(work)/logs"
    try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
    func epochLines() -> [Substring] {
      CLIHarness.log(logs, "stdout").split(separator: "\n").filter { $0.hasPrefix("epoch ") }
    }
    let process = try CLIHarness.start(["run", path, "--run-dir", run, "--progress", "tiles"], logDirectory: logs)
    defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
    let deadline = Date().addingTimeInterval(300)
    while process.isRunning, Date() < deadline, epochLines().isEmpty { usleep(2_000) }
    XCTAssertTrue(process.isRunning, CLIHarness.log(logs, "stderr"))
    let signalled = Date()
    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
    let stopTime = Date().timeIntervalSince(signalled)
    let stderr = CLIHarness.log(logs, "stderr")
    XCTAssertEqual(process.terminationStatus, 75, stderr)
    let record = try XCTUnwrap(try TrainingCheckpointStore(run: RunDirectory(path: run)).latest()?.record)
    XCTAssertEqual(record.epoch, 1)
    let epochSeconds = try XCTUnwrap(record.epochSeconds)
    XCTAssertLessThan(stopTime, epochSeconds / 2, "stopped \(stopTime) s after SIGTERM; an epoch takes \(epochSeconds) s")
    XCTAssertTrue(stderr.contains("SIGTERM received: finishing the training batch in progress"), stderr)
    XCTAssertTrue(stderr.contains("training epoch 2 abandoned after batch "), stderr)
    XCTAssertTrue(stderr.contains("of 625 (not committed); the next `ntkbatch run` repeats it from epoch 1's checkpoint"), stderr)

    // The next session continues at epoch 2.
    try FileManager.default.removeItem(atPath: "\(logs)/stdout.log")
    let again = try CLIHarness.start(["run", path, "--run-dir", run, "--progress", "tiles"], logDirectory: logs)
    defer { if again.isRunning { kill(again.processIdentifier, SIGKILL); again.waitUntilExit() } }
    while again.isRunning, Date() < deadline, epochLines().isEmpty { usleep(2_000) }
    XCTAssertTrue(epochLines().first?.hasPrefix("epoch 2 ") == true, "\(epochLines())")
  }
}

extension TesterLeftoversTests {
  // MARK: - 6. a shard whose host clock runs ahead

  /// `status` of a sharded run whose shard 0 was written by a host whose clock runs 5 h ahead
  /// (its last record time in this machine's future) and whose segment was last modified 2 h
  /// ago: `CLOCK SKEW` in the summary and on the shard's line, and `STALLED` (not "00:00:00 ago",
  /// fresh until the skew has passed); `--json` has `clockSkewSeconds`.
  func testStatusFlagsAShardWhoseClockRunsAheadAndStillStalls() throws {
    let run = RunDirectory(path: "\(work)/run")
    try run.createLayout()
    let identity = RunIdentity(manifestHash: ContentHash.sha256(Array("m".utf8)), weightsHash: ContentHash.sha256(Array("w".utf8)),
                               inputDataHash: ContentHash.sha256(Array("d".utf8)), sampleCount: 25, tileSamples: 10,
                               precision: .float32, normalization: .sqrtParams)
    let now = Date()
    let formatter = ISO8601DateFormatter()
    let session = try run.journal.beginSession(JournalHeader(
      identity: identity, session: 1, host: "fast", pid: 1, startTime: formatter.string(from: now.addingTimeInterval(5 * 3600 - 60)),
      shard: try ShardSpec(index: 0, count: 2), sessionID: "aaaaaaaa", shardTiles: 0..<3))
    let tile = try identity.plan().tiles[0]
    try session.append(TileRecord(index: 0, rowBlock: tile.rowBlock, columnBlock: tile.columnBlock, object: ContentHash.sha256(Array("t".utf8)),
                                  rawByteCount: 10_000, storedByteCount: 9000, computeSeconds: 1,
                                  finishedAt: formatter.string(from: now.addingTimeInterval(5 * 3600))))
    session.close()
    let segment = try XCTUnwrap(try run.journal.replay().segments.first).path
    try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-7200)], ofItemAtPath: segment)

    let status = try CLIHarness.succeed(["status", run.path])
    XCTAssertTrue(status.stdout.contains("STALLED: 0; CLOCK SKEW: 0"), status.stdout)
    XCTAssertTrue(status.stdout.contains("in the future: CLOCK SKEW, host fast's clock runs ahead of this machine's; its segment was last modified 02:00:0"), status.stdout)
    XCTAssertFalse(status.stdout.contains("(00:00:00 ago)"), status.stdout)
    let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(CLIHarness.succeed(["status", run.path, "--json"]).stdout.utf8)) as? [String: Any])
    let shard = try XCTUnwrap((json["shards"] as? [[String: Any]])?.first)
    XCTAssertEqual(try XCTUnwrap(shard["clockSkewSeconds"] as? Double), 5 * 3600, accuracy: 5)
    XCTAssertEqual(shard["stalled"] as? Bool, true)
  }
}
