import Checkpoint
import Foundation
import Storage
import XCTest
import TestSupport

/// Findings of a new user's tryout (tester12): each reproduced through the command line on a
/// small run, then checked fixed — no crash, no data loss, one-line errors, no dead ends.
final class TryoutFindingsTests: NpyManifestTestCase {
  // LeNet on 30 samples in tiles of 10: tiles 0 (0, 0), 1 (0, 1), 2 (0, 2), 3 (1, 1), 4 (1, 2), 5 (2, 2).
  override class var folderLabel: String { "tryout" }

  private func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

  /// A complete run in `work/name` and its float32 assembly.
  private func completeRun(_ name: String = "base") throws -> (run: String, matrix: [UInt8]) {
    let run = "\(work)/\(name)"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    return (run, try FaultHarness.assembled(run, output: "\(work)/\(name)-reference.npy"))
  }

  /// Rewrites the JSON payload of frame `frame` of `segment` with `change`, re-checksummed (a
  /// valid record with edited values, as a hand edit or a buggy tool would leave it).
  private func rewriteRecord(_ segment: String, frame: Int, _ change: (inout [String: Any]) -> Void) throws {
    let bytes = try FileBytes.read(path: segment)
    let frames = try FaultHarness.frames(of: segment)
    var out: [UInt8] = []
    for (k, f) in frames.enumerated() {
      var payload = Array(bytes[(f.offset + 36)..<(f.offset + f.length)])
      if k == frame {
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
        change(&object)
        payload = Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
      }
      let n = UInt32(payload.count)
      out += [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)]
      out += ContentHash.sha256(payload).digestBytes + payload
    }
    try Data(out).write(to: URL(fileURLWithPath: segment))
  }

  // MARK: #2 gzip bomb

  func testGzipBombInADatasetFileIsABadInputNamingTheFileWithoutInflatingIt() throws {
    func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
    // The header declares 100 images (78,416 bytes), the stream inflates to 64 MiB of zeros.
    let images = "\(work)/train-images-idx3-ubyte.gz"
    try Data(GzipFixture.member([0, 0, 8, 3] + be(100) + be(28) + be(28) + [UInt8](repeating: 0, count: 64 << 20))).write(to: URL(fileURLWithPath: images))
    try Data(GzipFixture.member([0, 0, 8, 1] + be(100) + [UInt8](repeating: 3, count: 100))).write(to: URL(fileURLWithPath: "\(work)/train-labels-idx1-ubyte.gz"))
    let result = try CLIHarness.run(["dataset", "info", work, "--name", "mnist"])
    XCTAssertEqual(result.status, 2, result.stderr)
    XCTAssertEqual(lines(result.stderr), ["ntkbatch: error: \(images): gzip data inflates past 78416 bytes, more than the file may hold by its header or kind (damaged or hostile file)"])
  }

  // MARK: #4 Double → Int

  func testStatusOfARecordWithHugeComputeSecondsDoesNotTrap() throws {
    let (run, _) = try completeRun()
    let segment = try XCTUnwrap(FaultHarness.segments(of: run).first)
    try rewriteRecord(segment, frame: 1) { object in
      var tile = object["tile"] as! [String: Any]
      tile["computeSeconds"] = 1e19
      object["tile"] = tile
    }
    let status = try CLIHarness.run(["status", run])
    XCTAssertEqual(status.status, 0, status.stderr)
    XCTAssertTrue(status.stdout.contains("compute:  --:--:--"), status.stdout)
    let json = try CLIHarness.run(["status", run, "--json"])
    XCTAssertEqual(json.status, 0, json.stderr)
  }

  /// `status`'s ETA is wall time per tile of the sessions (start to last `finishedAt`: storing
  /// and journaling included), not compute time alone, and says so.
  func testStatusETAIsWallTimePerTileOfTheSessions() throws {
    let run = "\(work)/part"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none", "--max-tiles", "2"])
    let segment = try XCTUnwrap(FaultHarness.segments(of: run).first)
    try rewriteRecord(segment, frame: 0) { $0["header"] = ($0["header"] as! [String: Any]).merging(["startTime": "2026-01-01T00:00:00Z"]) { $1 } }
    for (frame, finished) in [(1, "2026-01-01T00:01:00Z"), (2, "2026-01-01T00:01:40Z")] {
      try rewriteRecord(segment, frame: frame) { object in
        object["tile"] = (object["tile"] as! [String: Any]).merging(["finishedAt": finished, "computeSeconds": 0.5]) { $1 }
      }
    }
    let status = try CLIHarness.succeed(["status", run])
    XCTAssertTrue(status.stdout.contains("tiles:    2/6"), status.stdout)
    XCTAssertTrue(status.stdout.contains("compute:  00:00:01 over 1 session"), status.stdout)
    // 100 s of wall time for 2 tiles: 50 s per tile × 4 tiles left.
    XCTAssertTrue(status.stdout.contains("eta:      00:03:20 (50 s wall time per tile in the sessions so far, for one process)"), status.stdout)
  }

  // MARK: #1 assemble --output

  func testAssembleRefusesOutputsInsideTheRunAndFilesItDidNotWrite() throws {
    let run = "\(work)/base"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none", "--max-tiles", "2"])
    // An --allow-partial output leaves a mask; a later complete output removes it.
    try CLIHarness.succeed(["assemble", run, "--allow-partial", "--output", "\(work)/g.npy"])
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(work)/g.npy.missing.json"))
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])

    let segment = try XCTUnwrap(FaultHarness.segments(of: run).first)
    for target in [segment, "\(run)/logits.npy", "\(run)/manifest.json", "\(run)/new.npy", "\(run)/../base/objects/x.npy", "\(work)/inputs.npy"] {
      let before = try? FileBytes.read(path: target)
      let result = try CLIHarness.run(["assemble", run, "--output", target])
      XCTAssertEqual(result.status, 2, "\(target): \(result.stdout) \(result.stderr)")
      XCTAssertEqual(lines(result.stderr).count, 1, result.stderr)
      XCTAssertTrue(result.stderr.contains(target), result.stderr)
      XCTAssertEqual(try? FileBytes.read(path: target), before, "\(target) changed")
    }
    // --overwrite never allows a path inside the run directory.
    XCTAssertEqual(try CLIHarness.run(["assemble", run, "--overwrite", "--output", "\(run)/logits.npy"]).status, 2)
    try CLIHarness.succeed(["verify", run])

    // A file assemble did not write: refused, then replaced with --overwrite.
    try Data("my notes".utf8).write(to: URL(fileURLWithPath: "\(work)/notes.npy"))
    let refused = try CLIHarness.run(["assemble", run, "--output", "\(work)/notes.npy"])
    XCTAssertEqual(refused.status, 2, refused.stderr)
    XCTAssertTrue(refused.stderr.contains("not an output of this run recorded in"), refused.stderr)
    XCTAssertEqual(try String(contentsOfFile: "\(work)/notes.npy", encoding: .utf8), "my notes")
    try CLIHarness.succeed(["assemble", run, "--overwrite", "--output", "\(work)/notes.npy"])

    // An earlier output is replaced as before, and the stale mask goes.
    let complete = try CLIHarness.succeed(["assemble", run, "--output", "\(work)/g.npy"])
    XCTAssertTrue(complete.stdout.contains("removed \(work)/g.npy.missing.json"), complete.stdout)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/g.npy.missing.json"))
    XCTAssertEqual(try FileBytes.read(path: "\(work)/g.npy"), try FileBytes.read(path: "\(work)/notes.npy"))
  }

  // MARK: #9 run --run-dir into a foreign directory

  func testRunRefusesANonEmptyDirectoryThatIsNotARunDirectory() throws {
    // `run --run-dir folder` holding `files` is refused with `reason`, one line, exit 2, the folder unchanged.
    func refused(_ folder: String, holding files: [String], _ reason: String) throws {
      let result = try CLIHarness.run(["run", manifest, "--run-dir", folder, "--progress", "none"])
      XCTAssertEqual(result.status, 2, result.stderr)
      XCTAssertEqual(lines(result.stderr).count, 1, result.stderr)
      XCTAssertTrue(result.stderr.contains("\(folder): exists, is not empty (\(reason)"), result.stderr)
      XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder).sorted(), files)
    }
    let project = "\(work)/project"
    try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
    try Data("mine".utf8).write(to: URL(fileURLWithPath: "\(project)/notes.txt"))
    try refused(project, holding: ["notes.txt"], "notes.txt) and is not a run directory")
    // A user's folder that also holds a manifest.json is no run directory either (a later
    // tester's finding: the run was written into it, beside a foreign manifest.json).
    try FileManager.default.copyItem(atPath: manifest, toPath: "\(project)/manifest.json")
    try refused(project, holding: ["manifest.json", "notes.txt"], "notes.txt and 1 more) and is not a run directory (no journal/)")
    // A folder holding only a user's manifest.json, or logits.npy, is none either: a run would
    // overwrite them (a later tester's finding: accepted, and the files replaced without a word).
    for name in ["manifest.json", "logits.npy"] {
      let folder = "\(work)/only-\(name)"
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      try Data("the user's own \(name)".utf8).write(to: URL(fileURLWithPath: "\(folder)/\(name)"))
      try refused(folder, holding: [name], "\(name)) and is not a run directory (no journal/ or objects/: a run would overwrite it)")
      XCTAssertEqual(try String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8), "the user's own \(name)")
    }
    // A run directory whose journal is gone (only ntkbatch's own files) is still one: run starts over.
    let journalGone = "\(work)/gone"
    try CLIHarness.succeed(["run", manifest, "--run-dir", journalGone, "--progress", "none", "--max-tiles", "1"])
    try FileManager.default.removeItem(atPath: "\(journalGone)/journal")
    try CLIHarness.succeed(["run", manifest, "--run-dir", journalGone, "--progress", "none", "--max-tiles", "1"])
    // An empty directory is fine.
    let empty = "\(work)/empty"
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
    try CLIHarness.succeed(["run", manifest, "--run-dir", empty, "--progress", "none", "--max-tiles", "1"])
  }

  // MARK: #3 damaged header record

  func testDamagedHeaderRecordIsSetAsideAndItsTilesComputedAgain() throws {
    let (_, reference) = try completeRun()
    let run = "\(work)/sessions"
    for _ in 0..<3 {
      try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none", "--max-tiles", "2"])
    }
    let segments = try FaultHarness.segments(of: run)
    XCTAssertEqual(segments.count, 3)
    var bytes = try FileBytes.read(path: segments[1])
    bytes[100] ^= 0xFF
    try Data(bytes).write(to: URL(fileURLWithPath: segments[1]))
    XCTAssertEqual(try CLIHarness.run(["status", run]).status, 1)

    let repair = try CLIHarness.run(["repair", run])
    XCTAssertEqual(repair.status, 0, repair.stdout + repair.stderr)
    XCTAssertTrue(repair.stdout.contains("segment set aside"), repair.stdout)
    XCTAssertTrue(FileManager.default.fileExists(atPath: segments[1] + ".damaged"))
    let resumed = try FaultHarness.run(["run", manifest, "--run-dir", run, "--progress", "tiles"])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertEqual(FaultHarness.tileLines(resumed.stdout), [2, 3])
    XCTAssertTrue(try CLIHarness.succeed(["verify", run]).stdout.contains("6 of 6 journaled tiles intact"))
    XCTAssertTrue(try FaultHarness.assembled(run, output: "\(work)/sessions.npy") == reference)
  }

  // MARK: #11 a record contradicting the plan

  func testRecordWhosePositionContradictsThePlanIsDamageThatRepairRemoves() throws {
    let (run, reference) = try completeRun()
    let segment = try XCTUnwrap(FaultHarness.segments(of: run).first)
    let offset = try FaultHarness.frames(of: segment)[2].offset
    try rewriteRecord(segment, frame: 2) { object in  // tile 1 (0, 1) claims (1, 1)
      var tile = object["tile"] as! [String: Any]
      XCTAssertEqual(tile["index"] as? Int, 1)
      tile["rowBlock"] = 1
      object["tile"] = tile
    }
    let verify = try CLIHarness.run(["verify", run])
    XCTAssertEqual(verify.status, 1, verify.stdout)
    XCTAssertEqual(lines(verify.stderr).count, 1, verify.stderr)
    XCTAssertTrue(verify.stderr.contains("\(segment): tile record at byte \(offset): position: tile 1 is not (I=1, J=1) in the plan"), verify.stderr)
    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("CUT journal \(segment) at byte \(offset)"), repair.stdout)
    let resumed = try FaultHarness.run(["run", manifest, "--run-dir", run, "--progress", "tiles"])
    XCTAssertEqual(FaultHarness.tileLines(resumed.stdout), [1], resumed.stderr)
    XCTAssertTrue(try FaultHarness.assembled(run, output: "\(work)/again.npy") == reference)
  }

  // MARK: #7 empty segments, verify without a journal

  func testEmptySegmentIsNoJournalHeaderAndRepairRemovesIt() throws {
    let run = "\(work)/base"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none", "--max-tiles", "1"])
    let segment = try XCTUnwrap(FaultHarness.segments(of: run).first)
    for size in [0, 20] {
      try FaultHarness.truncate(segment, to: size)
      for command in ["status", "verify"] {
        let result = try CLIHarness.run([command, run])
        XCTAssertEqual(result.status, 1, "\(command) \(size): \(result.stdout)")
        XCTAssertFalse(result.stdout.contains("0/0") || result.stdout.contains("0 of 0"), result.stdout)
        XCTAssertEqual(lines(result.stderr).count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("no journal header"), result.stderr)
      }
    }
    try FaultHarness.truncate(segment, to: 0)
    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("REMOVED journal \(segment): empty segment"), repair.stdout)
    XCTAssertEqual(try FaultHarness.segments(of: run), [])
    let verify = try CLIHarness.run(["verify", run])
    XCTAssertEqual(verify.status, 1, verify.stdout)
    XCTAssertTrue(verify.stderr.contains("no journal:"), verify.stderr)
    XCTAssertFalse(verify.stdout.contains("0 of 0"), verify.stdout)
  }

  // MARK: #5 logits.npy

  func testDamagedLogitsAreReportedRemovedByRepairAndWrittenAgainByRun() throws {
    let (run, _) = try completeRun()
    let path = "\(run)/logits.npy"
    let original = try FileBytes.read(path: path)
    XCTAssertEqual(try NpyArray(bytes: original, path: path).shape, [30, 10])
    var nan = try NpyArray(bytes: original, path: path).doubles()
    nan[13] = .nan
    for damaged in [Array(original.prefix(50)), NpyArray(shape: [30, 10], values: nan).encoded(), NpyArray(shape: [30, 9], values: Array(nan.prefix(270))).encoded()] {
      try Data(damaged).write(to: URL(fileURLWithPath: path))
      let verify = try CLIHarness.run(["verify", run])
      XCTAssertEqual(verify.status, 1, verify.stdout)
      XCTAssertTrue(verify.stdout.contains("DAMAGED \(path): "), verify.stdout)
      XCTAssertEqual(lines(verify.stderr).count, 1, verify.stderr)
      XCTAssertTrue(verify.stderr.contains("\(path): "), verify.stderr)
      // run writes a damaged copy again by itself.
      try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
      XCTAssertEqual(try FileBytes.read(path: path), original)
    }
    try FaultHarness.truncate(path, to: 50)
    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("REMOVED damaged \(path)"), repair.stdout)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    try CLIHarness.succeed(["verify", run])
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(try FileBytes.read(path: path), original)
  }

  // MARK: #6 damaged training state

  /// LeNet trained 2 epochs on 20 digits (target accuracy 1.0, never reached) and its eNTK: the
  /// manifest, the run directory, the assembled matrix, `training/latest.json` and its bytes.
  func trainedTwoEpochs() throws -> (manifest: String, run: String, reference: [UInt8], latest: String, good: [UInt8]) {
    let train = try CLIHarness.writeManifest([
      "name": "train",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 20],
      "model": ["name": "lenet", "seed": 0, "train": ["epochs": 2, "batchSize": 10, "samples": 20, "targetAccuracy": 1.0]],
      "ntk": ["precision": "float32", "tileSamples": 10],
    ], in: work, name: "train")
    let run = "\(work)/trained"
    try CLIHarness.succeed(["run", train, "--run-dir", run, "--progress", "none"])
    let reference = try FaultHarness.assembled(run, output: "\(work)/trained.npy")
    let latest = "\(run)/training/latest.json"
    return (train, run, reference, latest, try FileBytes.read(path: latest))
  }

  /// The training record in `latest.json` without the epochs' commit times and durations (which
  /// differ between two trainings of the same weights): epoch, loss, accuracy, checkpoint hash, …
  func recordWithoutTimes(_ bytes: [UInt8]) throws -> TrainingRecord {
    var record = try JSONDecoder().decode(TrainingRecord.self, from: Data(bytes))
    XCTAssertNotNil(record.finishedAt)
    XCTAssertNotNil(record.epochSeconds)
    (record.finishedAt, record.epochSeconds) = (nil, nil)
    return record
  }

  func testDamagedTrainingStateIsSetAsideByRepairAndRunTrainsAgain() throws {
    let (train, run, reference, latest, good) = try trainedTwoEpochs()
    var outOfRange = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(good)) as? [String: Any])
    outOfRange["epoch"] = 99
    for (damage, says) in [(Array("garbage".utf8), "not a training record"),
                           (Array(try JSONSerialization.data(withJSONObject: outOfRange)), "epoch: expected 1…2, found 99")] {
      try Data(damage).write(to: URL(fileURLWithPath: latest))
      let refused = try CLIHarness.run(["run", train, "--run-dir", run, "--progress", "none"])
      XCTAssertEqual(refused.status, 1, refused.stderr)
      XCTAssertTrue(refused.stderr.contains(says), refused.stderr)
      let repair = try CLIHarness.succeed(["repair", run])
      XCTAssertTrue(repair.stdout.contains("SET ASIDE damaged training state"), repair.stdout)
      XCTAssertTrue(repair.stdout.contains(says), repair.stdout)
      try CLIHarness.succeed(["run", train, "--run-dir", run, "--progress", "none"])
      XCTAssertEqual(try recordWithoutTimes(FileBytes.read(path: latest)), try recordWithoutTimes(good), "trained again to the same epoch")
      XCTAssertTrue(try FaultHarness.assembled(run, output: "\(work)/again.npy") == reference)
      for name in try FileManager.default.contentsOfDirectory(atPath: "\(run)/training") where name.contains(".damaged") {
        try FileManager.default.removeItem(atPath: "\(run)/training/\(name)")
      }
    }
  }

  /// `latest.json` saying `"finished": true` at epoch 1 of 2 below the target accuracy (as if
  /// training had ended early) is damage: `verify` names it (exit 1), `run` refuses to compute the
  /// eNTK of those weights, `repair` sets it aside, and `run` trains again to the same weights.
  func testFinishedBeforeTheLastEpochBelowTheTargetIsDamage() throws {
    let (train, run, reference, latest, good) = try trainedTwoEpochs()
    var record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(good)) as? [String: Any])
    XCTAssertEqual(record["finished"] as? Bool, true)
    XCTAssertEqual(record["epoch"] as? Int, 2)
    record["epoch"] = 1
    record["accuracy"] = 0.14
    try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: latest))
    let says = "finished: true at epoch 1 of 2 with accuracy 0.14 (14.00%), not above targetAccuracy 1.0 (100.00%)"

    let verify = try CLIHarness.run(["verify", run])
    XCTAssertEqual(verify.status, 1, verify.stdout + verify.stderr)
    XCTAssertTrue(verify.stdout.contains("DAMAGED training state: \(latest): \(says)"), verify.stdout)
    XCTAssertTrue(verify.stderr.contains("`ntkbatch repair \(run)`"), verify.stderr)
    let refused = try CLIHarness.run(["run", train, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(refused.status, 1, refused.stderr)
    XCTAssertTrue(refused.stderr.contains(says), refused.stderr)
    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("SET ASIDE damaged training state"), repair.stdout)
    XCTAssertTrue(repair.stdout.contains(says), repair.stdout)
    XCTAssertTrue(FileManager.default.fileExists(atPath: latest + ".damaged"))
    try CLIHarness.succeed(["run", train, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(try recordWithoutTimes(FileBytes.read(path: latest)), try recordWithoutTimes(good), "trained again to the last epoch")
    XCTAssertTrue(try FaultHarness.assembled(run, output: "\(work)/again.npy") == reference)
    try CLIHarness.succeed(["verify", run])
  }

  /// `latest.json` saying `"finished": false` at epoch 2 of 2 (training records `true` after its
  /// last epoch) is damage as `finished: true` too early is: otherwise `run` has no epoch left to
  /// train and `export-weights` asks to run again, a loop. `verify` names it, `run` refuses,
  /// `repair` sets it aside, and `run` trains again to the same weights.
  func testNotFinishedAtTheLastEpochIsDamage() throws {
    let (train, run, reference, latest, good) = try trainedTwoEpochs()
    var record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(good)) as? [String: Any])
    XCTAssertEqual(record["epoch"] as? Int, 2)
    record["finished"] = false
    try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: latest))
    let says = "finished: false at epoch 2 of 2: training records finished: true after its last epoch"

    let verify = try CLIHarness.run(["verify", run])
    XCTAssertEqual(verify.status, 1, verify.stdout + verify.stderr)
    XCTAssertTrue(verify.stdout.contains("DAMAGED training state: \(latest): \(says)"), verify.stdout)
    let refused = try CLIHarness.run(["run", train, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(refused.status, 1, refused.stderr)
    XCTAssertEqual(lines(refused.stderr).count, 1, refused.stderr)
    XCTAssertTrue(refused.stderr.contains(says), refused.stderr)
    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("SET ASIDE damaged training state"), repair.stdout)
    try CLIHarness.succeed(["run", train, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(try recordWithoutTimes(FileBytes.read(path: latest)), try recordWithoutTimes(good), "trained again to the last epoch")
    XCTAssertTrue(try FaultHarness.assembled(run, output: "\(work)/again.npy") == reference)
    try CLIHarness.succeed(["export-weights", run, "--output", "\(work)/w.safetensors"])
  }

  // MARK: #8 check reads what run reads

  func testCheckRefusesTrainSamplesBeyondTheSplitNamingTheField() throws {
    let path = try FaultHarness.mnistTrainingManifest(in: work, name: "train", trainSamples: 100_000)
    for command in ["check", "run"] {
      let result = try CLIHarness.run(command == "check" ? ["check", path] : ["run", path, "--run-dir", "\(work)/r", "--progress", "none"])
      XCTAssertEqual(result.status, 2, "\(command): \(result.stderr)")
      XCTAssertEqual(lines(result.stderr).count, 1, result.stderr)
      XCTAssertTrue(result.stderr.contains("model.train.samples is 100000 but the file holds only 5000 samples"), "\(command): \(result.stderr)")
    }
  }

  // MARK: #12 minor findings

  func testInt64WeightsAndAFIFOAsWeightsAreBadInput() throws {
    let weights = "\(work)/int.safetensors"
    try Data(SafetensorsFile.encode([], integerEntries: [("fc1.weight", [2, 2], [1, 2, 3, 4])])).write(to: URL(fileURLWithPath: weights))
    let fifo = "\(work)/fifo.safetensors"
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    for (path, says) in [(weights, "\(weights): tensor 'fc1.weight': expected a float dtype (F32, F64, F16 or BF16), found I64"),
                         (fifo, "\(fifo): is not a regular file")] {
      let manifest = try FaultHarness.npyManifest(in: work, samples: 30, tileSamples: 10, weights: path)
      let result = try FaultHarness.run(["check", manifest], timeout: 30)
      XCTAssertFalse(result.timedOut, "check blocked on \(path)")
      XCTAssertEqual(result.status, 2, result.stderr)
      XCTAssertEqual(lines(result.stderr).count, 1, result.stderr)
      XCTAssertTrue(result.stderr.contains(says), result.stderr)
    }
  }

  func testIDXShapeErrorNamesTheFullPath() throws {
    func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
    let images = "\(work)/train-images-idx3-ubyte"
    try Data([0, 0, 8, 3] + be(3) + be(14) + be(56) + [UInt8](repeating: 0, count: 3 * 784)).write(to: URL(fileURLWithPath: images))
    try Data([0, 0, 8, 1] + be(3) + [1, 2, 3]).write(to: URL(fileURLWithPath: "\(work)/train-labels-idx1-ubyte"))
    let result = try CLIHarness.run(["dataset", "info", work, "--name", "mnist"])
    XCTAssertEqual(result.status, 2, result.stderr)
    XCTAssertEqual(lines(result.stderr), ["ntkbatch: error: \(images): IDX file holds images [3, 14, 56], expected images [N, 28, 28]"])
  }

  func testCIFARBatchErrorNamesTheFullPath() throws {
    for k in 1...5 {
      let record = [UInt8](repeating: 1, count: 3073)
      try Data(k == 1 ? Array(record.prefix(100)) : record).write(to: URL(fileURLWithPath: "\(work)/data_batch_\(k).bin"))
    }
    let result = try CLIHarness.run(["dataset", "info", work, "--name", "cifar10"])
    XCTAssertEqual(result.status, 2, result.stderr)
    XCTAssertEqual(lines(result.stderr), ["ntkbatch: error: cifar10: \(work)/data_batch_1.bin holds 100 bytes, not a whole number of 3073-byte records"])
  }

  func testIdentityRefusalNamesTheFirstDifferingManifestField() throws {
    let run = "\(work)/base"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none", "--max-tiles", "1"])
    var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifest))) as? [String: Any])
    var ntk = try XCTUnwrap(object["ntk"] as? [String: Any])
    ntk["normalization"] = "none"
    object["ntk"] = ntk
    let changed = try CLIHarness.writeManifest(object, in: work, name: "changed")
    let result = try CLIHarness.run(["run", changed, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(result.status, 2, result.stderr)
    XCTAssertEqual(lines(result.stderr).count, 1, result.stderr)
    XCTAssertTrue(result.stderr.contains("first differing field ntk.normalization (run has \"sqrt-params\", now \"none\")"), result.stderr)
    // A new name alone is the same computation: it resumes (RelocatedRunTests moves data too).
    ntk["normalization"] = "sqrt-params"
    object["ntk"] = ntk
    object["name"] = "renamed"
    let renamed = try CLIHarness.writeManifest(object, in: work, name: "renamed")
    let resumed = try CLIHarness.run(["run", renamed, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertTrue(resumed.stderr.contains("resuming a moved run (same data, weights and settings): name (run has \"faults-npy\", now \"renamed\")"), resumed.stderr)
  }
}
