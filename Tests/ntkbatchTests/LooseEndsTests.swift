import Foundation
import Storage
import XCTest

/// The loose ends of issue 12, through the built binary: stray files under `objects/`, `status`
/// without a journal, `--max-tiles -1`, what SIGINT says during training, a second Ctrl-C,
/// `repair`'s help, and training that produces a non-finite loss.
final class LooseEndsTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("loose-ends") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  private func manifest(model: String = "logistic", width: Int? = nil, subsample: Int = 10, tileSamples: Int = 5,
                        train: [String: Any]? = nil, name: String = "m") throws -> String {
    var modelObject: [String: Any] = ["name": model, "seed": 0]
    if let width { modelObject["width"] = width }
    if let train { modelObject["train"] = train }
    return try CLIHarness.writeManifest([
      "name": name,
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": subsample],
      "model": modelObject,
      "ntk": ["precision": "float32", "tileSamples": tileSamples],
    ], in: work, name: name)
  }

  private func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

  func testStrayFilesUnderObjectsAreNamedByVerifyAndKeptByRepair() throws {
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", try manifest(), "--run-dir", run, "--progress", "none"])
    let objects = run + "/objects"
    let prefix = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: objects).first)
    for (path, text) in [("notes.txt", "mine"), ("zz", "two letters"), ("\(prefix)/README", "not an object"),
                         ("\(prefix)/\(String(repeating: "A", count: 62))", "upper-case hex is not an object name")] {
      try Data(text.utf8).write(to: URL(fileURLWithPath: "\(objects)/\(path)"))
    }
    try FileManager.default.createDirectory(atPath: "\(objects)/backup", withIntermediateDirectories: false)

    let verified = try CLIHarness.succeed(["verify", run])  // stray files are harmless: exit 0
    let strays = lines(verified.stdout).filter { $0.hasPrefix("STRAY ") }
    XCTAssertEqual(strays.count, 5, verified.stdout)
    for name in ["/objects/notes.txt:", "/objects/zz:", "/objects/backup/:", "/\(prefix)/README:", String(repeating: "A", count: 62)] {
      XCTAssertTrue(strays.contains { $0.contains(name) }, "\(name) not named: \(verified.stdout)")
    }
    XCTAssertTrue(verified.stdout.contains("3 of 3 journaled tiles intact; 5 stray files under objects/"), verified.stdout)

    let repaired = try CLIHarness.succeed(["repair", run])
    // Repair never deletes files it did not write: it names them and keeps them.
    XCTAssertEqual(lines(repaired.stdout).filter { $0.hasPrefix("KEPT stray file ") }.count, 5, repaired.stdout)
    XCTAssertTrue(repaired.stdout.contains("nothing to repair"), repaired.stdout)
    XCTAssertEqual(try String(contentsOfFile: "\(objects)/notes.txt", encoding: .utf8), "mine")
    let again = try CLIHarness.succeed(["verify", run])
    XCTAssertEqual(lines(again.stdout).filter { $0.hasPrefix("STRAY ") }.count, 5, again.stdout)
    XCTAssertTrue(lines(again.stdout).contains("STRAY \(objects)/backup/: not an object nor a temporary file (not written by ntkbatch; repair keeps it)"), again.stdout)
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(objects)/backup"), "repair leaves directories alone")
    try CLIHarness.succeed(["assemble", run, "--output", "\(work)/g.npy"])
  }

  /// A copy of a segment under a name that is not a segment's (`segment-000001.copy.log`) is
  /// ignored by replay; `verify` names it instead of ignoring it silently (still exit 0).
  func testUnknownFilesInTheJournalAreNamedByVerify() throws {
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", try manifest(), "--run-dir", run, "--progress", "none"])
    let journal = run + "/journal"
    let segment = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: journal).first)
    try FileManager.default.copyItem(atPath: "\(journal)/\(segment)", toPath: "\(journal)/segment-000001.copy.log")
    let verified = try CLIHarness.succeed(["verify", run])
    XCTAssertEqual(lines(verified.stdout).filter { $0.hasPrefix("UNKNOWN ") },
                   ["UNKNOWN \(journal)/segment-000001.copy.log: not a journal segment name, so its records are ignored (a copy? move it out of journal/)"])
    XCTAssertTrue(verified.stdout.contains("3 of 3 journaled tiles intact; 1 unknown file in journal/ (ignored)"), verified.stdout)
    try FileManager.default.removeItem(atPath: "\(journal)/segment-000001.copy.log")
    XCTAssertFalse(try CLIHarness.succeed(["verify", run]).stdout.contains("UNKNOWN"))
  }

  /// The original `repair` keeps of a segment it cut (`segment-000001.log.damaged`, as
  /// durability.md documents) is named by `verify` as what it is, not as an UNKNOWN file.
  func testRepairsKeptOriginalsAreNotUnknownFiles() throws {
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", try manifest(), "--run-dir", run, "--progress", "none"])
    let journal = run + "/journal"
    let segment = "\(journal)/segment-000001.log"
    var bytes = try FileBytes.read(path: segment)
    let frames = try FaultHarness.frames(of: segment)
    XCTAssertEqual(frames.count, 4, "header and 3 tiles")
    bytes[frames[1].offset + 40] ^= 0x01  // inside the first tile record's payload: damage, more data follows
    try Data(bytes).write(to: URL(fileURLWithPath: segment))
    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("original kept as \(segment).damaged"), repair.stdout)
    try FileManager.default.copyItem(atPath: segment + ".damaged", toPath: segment + ".damaged.x")  // not repair's name
    let verified = try CLIHarness.succeed(["verify", run])
    XCTAssertEqual(lines(verified.stdout).filter { $0.hasPrefix("UNKNOWN ") },
                   ["UNKNOWN \(segment).damaged.x: not a journal segment name, so its records are ignored (a copy? move it out of journal/)"])
    XCTAssertEqual(lines(verified.stdout).filter { $0.hasPrefix("KEPT ") },
                   ["KEPT \(segment).damaged: the original of a segment `repair` cut or set aside (or `run`: one that ended before its header), kept for inspection (ignored by replay; delete it when no longer needed)"])
  }

  func testStatusOfARunWhoseJournalIsGoneSaysSo() throws {
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", try manifest(), "--run-dir", run, "--progress", "none"])
    for segment in try FileManager.default.contentsOfDirectory(atPath: run + "/journal") {
      try FileManager.default.removeItem(atPath: run + "/journal/" + segment)
    }
    for arguments in [["status", run], ["status", run, "--json"]] {
      let result = try CLIHarness.run(arguments)
      XCTAssertEqual(result.status, 1, "\(arguments): \(result.stdout) \(result.stderr)")
      XCTAssertEqual(result.stdout, "", "no 0/0 table: \(result.stdout)")
      XCTAssertEqual(lines(result.stderr).count, 1, result.stderr)
      XCTAssertTrue(result.stderr.contains("no journal"), result.stderr)
      XCTAssertTrue(result.stderr.contains("3 objects under objects/ belong to no record"), result.stderr)
      // The remedy names this directory: a bare `run MANIFEST` computes in the default runs/NAME.
      XCTAssertTrue(result.stderr.contains("--run-dir \(run)` starts the run from its first tile"), result.stderr)
    }
    try FileManager.default.removeItem(atPath: run + "/journal")
    // No journal/ folder at all: the same rule as no segment (README: exit 1), for status and verify.
    for arguments in [["status", run], ["verify", run]] {
      let gone = try CLIHarness.run(arguments)
      XCTAssertEqual(gone.status, 1, "\(arguments): \(gone.stderr)")
      XCTAssertTrue(gone.stderr.contains("no journal/ folder: the journal is gone"), gone.stderr)
      XCTAssertTrue(gone.stderr.contains("`ntkbatch run \(run)/manifest.json --run-dir \(run)` starts over"), gone.stderr)
    }
  }

  func testMaxTilesMinusOneIsReadAsAValueAndRefused() throws {
    let result = try CLIHarness.run(["run", try manifest(), "--run-dir", "\(work)/run", "--max-tiles", "-1"])
    XCTAssertEqual(result.status, 64, result.stderr)
    XCTAssertTrue(result.stderr.contains("--max-tiles must be at least 1, got -1"), result.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/run"))
    let zero = try CLIHarness.run(["run", try manifest(), "--run-dir", "\(work)/run", "--max-tiles", "0"])
    XCTAssertEqual(zero.status, 64, zero.stderr)
    try CLIHarness.succeed(["run", try manifest(), "--run-dir", "\(work)/run", "--max-tiles", "2", "--progress", "none"])
    XCTAssertTrue(try CLIHarness.succeed(["status", "\(work)/run"]).stdout.contains("tiles:    2/3"))
  }

  func testRepairHelpDescribesResynchronisation() throws {
    let help = try CLIHarness.succeed(["repair", "--help"]).stdout.replacingOccurrences(of: "\n", with: " ")
      .split(separator: " ").joined(separator: " ")
    XCTAssertTrue(help.contains("resynchronising on the next valid record"), help)
    XCTAssertTrue(help.contains("every valid record after it is kept"), help)
    XCTAssertFalse(help.contains("tiles journaled after the damage are computed again"), help)
  }

  /// Starts `run` of `path` and returns once training has finished epoch 1 (or the run ended).
  private func startRunUntilEpochOne(_ path: String, logs: String) throws -> Process {
    let process = try CLIHarness.start(["run", path, "--run-dir", "\(work)/run", "--progress", "tiles"], logDirectory: logs)
    CLIHarness.wait(for: process) { CLIHarness.log(logs, "stdout").contains("epoch 1 ") }
    return process
  }

  /// SIGINT during training names the training batch, not a tile; the run stops after it with 75.
  func testSIGINTDuringTrainingSaysTheEpochInProgress() throws {
    let path = try manifest(subsample: 2000, train: ["epochs": 200, "lr": 0.01, "samples": 2000, "targetAccuracy": 1.0])
    let logs = try CLIHarness.temporaryDirectory("sigint-train")
    defer { try? FileManager.default.removeItem(atPath: logs) }
    let process = try startRunUntilEpochOne(path, logs: logs)
    XCTAssertTrue(process.isRunning, "training ended before the signal")
    kill(process.processIdentifier, SIGINT)
    process.waitUntilExit()
    let stderr = CLIHarness.log(logs, "stderr")
    XCTAssertEqual(process.terminationStatus, 75, stderr)
    XCTAssertTrue(stderr.contains("SIGINT received: finishing the training batch in progress (the epoch in progress is not committed"), stderr)
    XCTAssertFalse(stderr.contains("tile in progress"), stderr)
  }

  /// The documented behaviour: while stopping (here: the first Ctrl-C lets the training batch in
  /// progress finish), a second Ctrl-C kills at once (death by SIGINT, which a shell shows as exit
  /// 130). (During tile computation the first signal already abandons the tile and exits 75 at
  /// once: `PreemptionTests`.)
  func testSecondSIGINTKillsAtOnce() throws {
    // LeNet on 5,000 digits in one batch: the batch a first signal lets finish lasts seconds, far
    // longer than the 0.1 s between the signals.
    let path = try manifest(model: "lenet", subsample: 10, train: ["epochs": 200, "lr": 0.01, "samples": 5000, "batchSize": 5000, "targetAccuracy": 1.0])
    let logs = try CLIHarness.temporaryDirectory("sigint-twice")
    defer { try? FileManager.default.removeItem(atPath: logs) }
    let process = try startRunUntilEpochOne(path, logs: logs)
    XCTAssertTrue(process.isRunning, "the run ended before the signals")
    kill(process.processIdentifier, SIGINT)
    usleep(100_000)
    let sentSecond = Date()
    kill(process.processIdentifier, SIGINT)
    process.waitUntilExit()
    let stderr = CLIHarness.log(logs, "stderr")
    XCTAssertEqual(process.terminationReason, .uncaughtSignal, "exit \(process.terminationStatus): \(stderr)")
    XCTAssertEqual(process.terminationStatus, SIGINT, stderr)
    XCTAssertLessThan(Date().timeIntervalSince(sentSecond), 1.0, "the second SIGINT must kill at once")
    XCTAssertTrue(stderr.contains("second SIGINT: killed at once"), stderr)
    // What was committed before stays valid: the next session resumes training from it.
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(work)/run/training/latest.json"))
  }

  /// A learning rate so large that the first epoch's loss is not finite: `run` stops at that
  /// epoch with one line (exit 1) and commits nothing (no `latest.json` naming a bad state).
  func testTrainingWithANonFiniteLossStopsAtThatEpochAndCommitsNothing() throws {
    let path = try manifest(subsample: 200, train: ["epochs": 5, "lr": 1e30, "samples": 200])
    let result = try CLIHarness.run(["run", path, "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertEqual(result.status, 1, result.stderr)
    XCTAssertEqual(lines(result.stderr).count, 1, result.stderr)
    XCTAssertTrue(result.stderr.contains("training epoch 1 produced a non-finite loss"), result.stderr)
    XCTAssertTrue(result.stderr.contains("no epoch was committed"), result.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/run/training/latest.json"))
    XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: "\(work)/run/journal")) ?? [], [])
  }

  /// A one-character relative run directory (`--run-dir r`) used to trap in Foundation's
  /// `deletingLastPathComponent`; it is an ordinary directory name.
  func testOneCharacterRunDirectoryWorks() throws {
    let path = try manifest()
    let process = Process()
    process.executableURL = CLIHarness.binary
    process.arguments = ["run", path, "--run-dir", "r", "--progress", "none"]
    process.currentDirectoryURL = URL(fileURLWithPath: work)
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationReason, .exit)
    XCTAssertEqual(process.terminationStatus, 0)
    try CLIHarness.succeed(["verify", "\(work)/r"])
  }
}
