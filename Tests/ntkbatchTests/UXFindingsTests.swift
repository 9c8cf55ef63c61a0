import Checkpoint
import Foundation
import Storage
import XCTest

/// The findings of testers using the product (0.9.1) on its messages and refusals: each is
/// reproduced with the built binary and its fix asserted with real values.
final class UXFindingsTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("ux-findings") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  private func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

  /// A LeNet run over the first `samples` shipped MNIST digits, `tileSamples` a side (6 samples, 2
  /// a side: 6 tiles), with `extra` merged into its manifest's objects.
  private func manifest(_ name: String = "ux", samples: Int = 6, tileSamples: Any = 2, model: [String: Any] = [:],
                        ntk: [String: Any] = [:]) throws -> String {
    try CLIHarness.writeManifest([
      "name": name,
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": samples],
      "model": ["name": "lenet"].merging(model) { $1 },
      "ntk": ["tileSamples": tileSamples].merging(ntk) { $1 },
    ], in: work, name: name)
  }

  /// A run of 2 epochs of training on 64 digits, then the eNTK of 4 digits (3 tiles), one tile computed.
  private func trainedRun() throws -> (manifest: String, run: String) {
    let path = try manifest("trained", samples: 4, model: ["train": ["epochs": 2, "samples": 64, "batchSize": 16]])
    let run = "\(work)/trained-run"
    try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none", "--max-tiles", "1"])
    return (path, run)
  }

  // MARK: 1. integer fields take digits only

  func testAFloatLiteralInAnIntegerFieldIsRefusedNamingTheField() throws {
    for (literal, message) in [("20.0", "found 20.0 (an integer field takes digits only: 20)"), ("2e1", "found 2e1 (an integer field takes digits only: 20)"),
                               ("20.5", "found 20.5")] {
      let path = "\(work)/float.json"
      try CLIHarness.writeText("{\"name\": \"f\", \"dataset\": {\"name\": \"mnist\", \"root\": \"\(CLIHarness.repositoryRoot)/data/mnist-sample\", \"subsample\": 6}, \"model\": {\"name\": \"lenet\"}, \"ntk\": {\"tileSamples\": \(literal)}}", to: path)
      for command in [["check", path], ["run", path, "--run-dir", "\(work)/never", "--progress", "none"]] {
        let refused = try CLIHarness.run(command)
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertEqual(lines(refused.stderr), ["ntkbatch: error: \(path): ntk.tileSamples: expected a positive integer up to 100000, \(message)"])
      }
      XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/never"))
    }
    // The same field with digits alone: accepted.
    XCTAssertTrue(try CLIHarness.succeed(["check", try manifest(tileSamples: 20)]).stdout.contains("tiles"))
  }

  // MARK: 3. counts agree with their nouns

  /// `1 tiles not computed yet`, `over 1 session(s)`, `eNTK in 1 tiles`: a count of one takes the
  /// singular (and its verb and pronoun), other counts the plural, in every command's output.
  func testACountOfOneTakesTheSingular() throws {
    // One sample, one tile.
    let single = try manifest("single", samples: 1, tileSamples: 1)
    let run = "\(work)/single-run"
    let check = try CLIHarness.succeed(["check", single])
    XCTAssertTrue(check.stdout.contains("n = 1 sample\n"), check.stdout)
    let computed = try CLIHarness.succeed(["run", single, "--run-dir", run, "--progress", "lines"])
    XCTAssertTrue(computed.stderr.contains("lenet (P = 62006) on 1 sample: 10 × 10 eNTK in 1 tile of up to 1 sample a side; run directory \(run)"), computed.stderr)
    let status = try CLIHarness.succeed(["status", run])
    XCTAssertTrue(status.stdout.contains("1 sample per tile side"), status.stdout)
    XCTAssertTrue(status.stdout.contains(" over 1 session\n"), status.stdout)
    XCTAssertEqual(try CLIHarness.succeed(["verify", run]).stdout, "1 of 1 journaled tile intact\n")
    // Its object gone: one damaged tile, named in the singular by verify and repair.
    let objects = try XCTUnwrap(FileManager.default.enumerator(atPath: "\(run)/objects")?.allObjects as? [String])
    let object = try XCTUnwrap(objects.first { $0.count == 65 })
    try FileManager.default.removeItem(atPath: "\(run)/objects/\(object)")
    let verify = try CLIHarness.run(["verify", run])
    XCTAssertEqual(verify.status, 1)
    XCTAssertEqual(lines(verify.stderr), ["ntkbatch: error: 1 damaged, missing or non-finite tile in \(run); run `ntkbatch repair \(run)`, then `ntkbatch run` to recompute it"])
    XCTAssertTrue(verify.stdout.contains("0 of 1 journaled tile intact"), verify.stdout)
    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("0 journal segments cut, 1 tile dropped, 0 orphans, 0 temporary files and 0 duplicate records removed, 0 conflicting records withdrawn"), repair.stdout)

    // Six tiles, five computed: one left.
    let six = "\(work)/six-run"
    try CLIHarness.succeed(["run", try manifest(), "--run-dir", six, "--progress", "none", "--max-tiles", "5"])
    XCTAssertEqual(try CLIHarness.succeed(["verify", six]).stdout, "5 of 5 journaled tiles intact; 1 tile not computed yet\n")
  }

  // MARK: 4. --max-tiles says it stopped there

  /// `run --max-tiles N` ended with `stopped with 2 of 6 tiles of the run journaled; run the same
  /// command to continue`, which reads like an interruption; now it names the --max-tiles limit,
  /// the tiles done and total and that running again resumes.
  func testMaxTilesSaysItStoppedAtTheLimitAndThatRunningAgainResumes() throws {
    let path = try manifest()
    let run = "\(work)/limited"
    let first = try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "lines", "--max-tiles", "2"])
    XCTAssertTrue(lines(first.stderr).contains("stopped at the --max-tiles limit (2 tiles computed in this session): 2 of 6 tiles of the run journaled, 4 left; running again resumes here (the same command computes up to 2 more; without --max-tiles, all that are left)"), first.stderr)
    let second = try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "lines", "--max-tiles", "1"])
    XCTAssertTrue(lines(second.stderr).contains("stopped at the --max-tiles limit (1 tile computed in this session): 3 of 6 tiles of the run journaled, 3 left; running again resumes here (the same command computes up to 1 more; without --max-tiles, all that are left)"), second.stderr)
    XCTAssertEqual(try CLIHarness.succeed(["status", run, "--tiles-done"]).stdout, "3\n")
    let rest = try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "lines"])
    XCTAssertTrue(lines(rest.stderr).contains("all tiles of the run in \(run) are journaled; next: ntkbatch verify \(run)"), rest.stderr)
    // A limit that the run reaches as it completes: complete, not stopped.
    let exact = try CLIHarness.succeed(["run", path, "--run-dir", "\(work)/exact", "--progress", "lines", "--max-tiles", "6"])
    XCTAssertTrue(lines(exact.stderr).contains("all tiles of the run in \(work)/exact are journaled; next: ntkbatch verify \(work)/exact"), exact.stderr)
  }

  // MARK: 5. an output named for another format

  /// `assemble --output x.txt` wrote an .npy into x.txt (and `--format zarr --output y.txt` a Zarr
  /// directory): an output whose extension contradicts the format is refused, exit 2, naming
  /// `--output` and the extension expected, before any work; `export-weights` likewise (it said
  /// so as a usage error, exit 64). What the README documents stays accepted.
  func testAnOutputNamedForAnotherFormatIsRefused() throws {
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", try manifest(), "--run-dir", run, "--progress", "none"])
    let refusals: [([String], String)] = [
      (["--output", "\(work)/x.txt"], "\(work)/x.txt: --output: expected a name ending in .npy for the .npy file assemble writes, found the extension .txt; name it x.npy, or give --format zarr to write a Zarr array"),
      (["--output", "\(work)/x.npz"], "\(work)/x.npz: --output: expected a name ending in .npy for the .npy file assemble writes, found the extension .npz; name it x.npy, or give --format zarr to write a Zarr array"),
      (["--output", "\(work)/matrix"], "\(work)/matrix: --output: expected a name ending in .npy for the .npy file assemble writes, found no extension; name it matrix.npy, or give --format zarr to write a Zarr array"),
      (["--output", "\(work)/y.txt", "--format", "zarr"], "\(work)/y.txt: --output: expected a name ending in .zarr (or without an extension) for the Zarr array assemble writes, found the extension .txt; name it y.zarr"),
      (["--output", "\(work)/y.npy.bak", "--format", "npy"], "\(work)/y.npy.bak: --output: expected a name ending in .npy for the .npy file assemble writes, found the extension .bak; name it y.npy, or give --format zarr to write a Zarr array"),
    ]
    for (options, message) in refusals {
      let refused = try CLIHarness.run(["assemble", run, "--progress", "none"] + options)
      XCTAssertEqual(refused.status, 2, "\(options): \(refused.stderr)")
      XCTAssertEqual(lines(refused.stderr), ["ntkbatch: error: \(message)"], "\(options)")
      XCTAssertEqual(refused.stdout, "")
    }
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work).sorted(), ["run", "ux.json"], "nothing written")
    // What the README documents: FILE.npy (any case), G.zarr, --format zarr with a name without an extension.
    for options in [["--output", "\(work)/g.npy"], ["--output", "\(work)/G.NPY"], ["--output", "\(work)/g.zarr"], ["--output", "\(work)/plain", "--format", "zarr"]] {
      try CLIHarness.succeed(["assemble", run, "--progress", "none"] + options)
    }
    XCTAssertEqual(try FileBytes.read(path: "\(work)/g.npy"), try FileBytes.read(path: "\(work)/G.NPY"))

    // export-weights: the weights of a trained run, named *.safetensors only.
    let (_, trained) = try trainedRun()
    let weights = try CLIHarness.run(["export-weights", trained, "--output", "\(work)/w.txt"])
    XCTAssertEqual(weights.status, 2, weights.stderr)
    XCTAssertEqual(lines(weights.stderr), ["ntkbatch: error: \(work)/w.txt: --output: expected a name ending in .safetensors for the weights export-weights writes, found the extension .txt; name it w.safetensors"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/w.txt"))
    try CLIHarness.succeed(["export-weights", trained, "--output", "\(work)/w.safetensors"])
  }

  // MARK: 6. training accuracy in percent wherever it is read by people

  /// `status` said `accuracy 0.1875` where the training progress says `accuracy 18.75%`: every
  /// human-readable line now gives the percentage (the target too); `--json` and the `tiles`
  /// progress keep the fraction of `latest.json`.
  func testTrainingAccuracyIsAPercentageInEveryHumanReadableLine() throws {
    let path = try manifest("percent", samples: 4, model: ["train": ["epochs": 2, "samples": 64, "batchSize": 16]])
    let run = "\(work)/percent-run"
    let trained = try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "lines", "--max-tiles", "1"])
    let scripted = try CLIHarness.succeed(["run", path, "--run-dir", "\(work)/percent-tiles", "--progress", "tiles", "--max-tiles", "1"])
    let record = try XCTUnwrap(try TrainingCheckpointStore(run: RunDirectory(path: run)).latestRecord())
    let percent = String(format: "%.2f%%", record.accuracy * 100)
    XCTAssertTrue(trained.stderr.contains("training epoch 2/2 | loss \(String(format: "%.4f", record.loss)) | accuracy \(percent) | "), trained.stderr)
    let status = try CLIHarness.succeed(["status", run])
    XCTAssertTrue(status.stdout.contains("training: epoch 2/2 committed (loss \(String(format: "%.4g", record.loss)), accuracy \(percent)) at "), status.stdout)
    XCTAssertFalse(status.stdout.contains("accuracy \(String(format: "%.4g", record.accuracy)))"), status.stdout)
    let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(CLIHarness.succeed(["status", run, "--json"]).stdout.utf8)) as? [String: Any])
    XCTAssertEqual((json["training"] as? [String: Any])?["accuracy"] as? Double, record.accuracy)
    XCTAssertEqual((json["training"] as? [String: Any])?["targetAccuracy"] as? Double, 0.995)
    XCTAssertTrue(scripted.stdout.contains("epoch 2 loss \(String(format: "%.6f", record.loss)) accuracy \(String(format: "%.6f", record.accuracy))"), scripted.stdout)

    // A run stopped during training: the target in percent too.
    var stopped = record
    stopped.epoch = 1
    stopped.finished = false
    try Data(JSONEncoder().encode(stopped)).write(to: URL(fileURLWithPath: "\(run)/training/latest.json"))
    for segment in try FileManager.default.contentsOfDirectory(atPath: "\(run)/journal") {
      try FileManager.default.removeItem(atPath: "\(run)/journal/\(segment)")
    }
    let training = try CLIHarness.succeed(["status", run])
    XCTAssertTrue(training.stdout.contains("accuracy \(percent)) at "), training.stdout)
    XCTAssertTrue(training.stdout.contains("(fewer once the accuracy exceeds 99.50%)"), training.stdout)
  }

  // MARK: 7. a directory that cannot be created

  /// `--run-dir /proc/foo` said Foundation's `The operation could not be completed. The file
  /// doesn't exist. (nearest existing folder: /proc)`, exit 1; every command that creates folders
  /// (`run`, `slurm`, `generate`, a download's `dataset.root`) now names the path, the folder it
  /// could not be created in and why, in one line, exit 2, and creates nothing.
  func testADirectoryThatCannotBeCreatedIsABadPathNamingWhy() throws {
    let path = try manifest()
    let why = "/proc does not allow creating folders in it (mkdir: ENOENT; a system folder such as /proc or /sys, or removed meanwhile); choose another path"
    let cases: [([String], String)] = [
      (["run", path, "--run-dir", "/proc/ntkbatch-ux", "--progress", "none"], "/proc/ntkbatch-ux: cannot create directory: \(why)"),
      (["run", path, "--run-dir", "/proc/ntkbatch-ux/deeper", "--progress", "none"], "/proc/ntkbatch-ux/deeper: cannot create directory /proc/ntkbatch-ux: \(why)"),
      (["slurm", path, "--array", "2", "--time", "1:00:00", "--run-dir", "/proc/ntkbatch-ux"],
       "/proc/ntkbatch-ux/slurm/logs: cannot create directory /proc/ntkbatch-ux: \(why)"),
      (["generate", "--models", "lenet", "--dataset", "mnist", "--root", "\(CLIHarness.repositoryRoot)/data/mnist-sample", "--subsample", "4",
        "--output", "/proc/ntkbatch-ux"], "/proc/ntkbatch-ux: cannot create directory: \(why)"),
    ]
    for (arguments, message) in cases {
      let refused = try CLIHarness.run(arguments)
      XCTAssertEqual(refused.status, 2, "\(arguments): \(refused.stderr)")
      XCTAssertEqual(lines(refused.stderr), ["ntkbatch: error: \(message)"], "\(arguments)")
    }
    let download = try CLIHarness.writeManifest([
      "name": "download", "dataset": ["name": "mnist", "root": "/proc/ntkbatch-ux", "download": true, "mirror": "http://127.0.0.1:9/", "subsample": 4],
      "model": ["name": "lenet"],
    ], in: work, name: "download")
    let refused = try CLIHarness.run(["run", download, "--run-dir", "\(work)/download-run", "--progress", "none"])
    XCTAssertEqual(refused.status, 2, refused.stderr)
    XCTAssertEqual(lines(refused.stderr), ["ntkbatch: error: /proc/ntkbatch-ux: cannot create dataset.root: \(why)"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/download-run"))
  }

  // MARK: 8. a garbled RUN/training/latest.json

  /// A `latest.json` that is JSON but not a training record said `not a training record (The
  /// operation could not be completed. The data isn't in the correct format.)`; now `status`,
  /// `verify`, `run` and `repair` name the file, the field and what is wrong with it.
  func testAGarbledTrainingRecordNamesTheFieldAndWhatIsWrong() throws {
    let (manifest, run) = try trainedRun()
    let latest = "\(run)/training/latest.json"
    let good = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(FileBytes.read(path: latest))) as? [String: Any])
    func edited(_ change: (inout [String: Any]) -> Void) throws -> Data {
      var record = good
      change(&record)
      return try JSONSerialization.data(withJSONObject: record)
    }
    let cases: [(Data, String)] = [
      (try edited { $0["loss"] = nil }, "missing field loss"),
      (try edited { $0["epoch"] = "two" }, "epoch: expected an integer, found \"two\""),
      (try edited { $0["finished"] = 1 }, "finished: expected true or false, found 1"),
      (try edited { $0["checkpoint"] = "ab" }, "checkpoint: expected 64 hex characters of a SHA-256, found \"ab\""),
      (Data("[1, 2]".utf8), "expected an object, found an array"),
    ]
    for (bytes, what) in cases {
      try bytes.write(to: URL(fileURLWithPath: latest))
      let problem = "\(latest): not a training record: \(what)"
      let status = try CLIHarness.run(["status", run])
      XCTAssertEqual(status.status, 1, status.stdout)
      XCTAssertTrue(lines(status.stdout).contains("training: DAMAGED: \(problem)"), status.stdout)
      XCTAssertEqual(lines(status.stderr), ["ntkbatch: error: damaged training state: \(problem); run `ntkbatch repair \(run)` (it sets the training state aside), then `ntkbatch run` trains again"])
      let verify = try CLIHarness.run(["verify", run])
      XCTAssertEqual(verify.status, 1, verify.stdout)
      XCTAssertTrue(lines(verify.stdout).contains("DAMAGED training state: \(problem)"), verify.stdout)
      let refused = try CLIHarness.run(["run", manifest, "--run-dir", run, "--progress", "none"])
      XCTAssertEqual(refused.status, 1, refused.stderr)
      XCTAssertTrue(refused.stderr.contains(problem), refused.stderr)
    }
    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("SET ASIDE damaged training state (\(latest): not a training record: expected an object, found an array)"), repair.stdout)
  }

  // MARK: 9. an older journal segment cut before its header

  /// A complete 6-tile run written over four sessions (1, 1, 3 and 1 tiles), its assembled matrix.
  private func runOverFourSessions(_ path: String, _ run: String) throws -> [UInt8] {
    for limit in ["1", "1", "3"] {
      try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none", "--max-tiles", limit])
    }
    try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(try FaultHarness.segments(of: run).count, 4)
    return try FaultHarness.assembled(run, output: "\(work)/reference.npy")
  }

  /// An earlier segment cut below its header was read as a crash's torn tail: `verify` exited 0
  /// and its tiles silently became "not computed yet". Only a writer's newest segment may end
  /// torn; an earlier one is damage in the middle: `verify`, `status` and `run` exit 1 naming it
  /// and `repair`, which sets it aside; `run` then recomputes what it held.
  func testAnEarlierSegmentCutBeforeItsHeaderIsDamage() throws {
    let path = try manifest()
    let base = "\(work)/base"
    let reference = try runOverFourSessions(path, base)
    for (label, damage) in [("cut", { (segment: String) in try FaultHarness.truncate(segment, to: 20) }),
                            ("cut inside the header", { (segment: String) in
                              let header = try XCTUnwrap(try FaultHarness.frames(of: segment).first)
                              try FaultHarness.truncate(segment, to: header.offset + header.length / 2)
                            }),
                            ("zeroed", { (segment: String) in try Data(count: 827).write(to: URL(fileURLWithPath: segment)) })] {
      let run = "\(work)/\(label.replacingOccurrences(of: " ", with: "-"))"
      try FaultHarness.copy(base, to: run)
      let segments = try FaultHarness.segments(of: run)
      let first = segments[0]
      try damage(first)
      let size = try FileBytes.read(path: first).count
      let message = "\(first): cut short before its header (\(size) bytes, no complete header record), though \(segments[1]), a later segment of the same writer (the unsharded sessions), started after it: damage before the end of that writer's journal, not a crash's torn tail (only a writer's newest segment may end torn), and any tile records it held are lost; run `ntkbatch repair` to set the segment aside (`ntkbatch run` then computes every tile not journaled)"
      let verify = try CLIHarness.run(["verify", run])
      XCTAssertEqual(verify.status, 1, "\(label): \(verify.stdout)")
      XCTAssertEqual(lines(verify.stderr), ["ntkbatch: error: \(message)"], label)
      let status = try CLIHarness.run(["status", run])
      XCTAssertEqual(status.status, 1, label)
      XCTAssertEqual(lines(status.stderr), ["ntkbatch: error: \(message)"], label)
      let refused = try CLIHarness.run(["run", path, "--run-dir", run, "--progress", "none"])
      XCTAssertEqual(refused.status, 1, label)
      XCTAssertEqual(lines(refused.stderr), ["ntkbatch: error: \(message)"], label)
      XCTAssertEqual(try FaultHarness.segments(of: run).count, 4, "run wrote nothing")
      let repair = try CLIHarness.succeed(["repair", run])
      XCTAssertTrue(repair.stdout.contains("\(first)"), repair.stdout)
      XCTAssertTrue(FileManager.default.fileExists(atPath: first + ".damaged"), label)
      let repaired = try CLIHarness.succeed(["verify", run])
      XCTAssertTrue(repaired.stdout.contains("5 of 5 journaled tiles intact; 1 tile not computed yet"), repaired.stdout)
      let resumed = try FaultHarness.run(["run", path, "--run-dir", run, "--progress", "tiles"])
      XCTAssertEqual(FaultHarness.tileLines(resumed.stdout), [0], label)
      XCTAssertTrue(try FaultHarness.assembled(run, output: "\(work)/again.npy") == reference, label)
    }
  }

  /// The newest segment cut before its header (its session crashed while starting) is tolerated
  /// exactly as before: `verify` and `status` exit 0. The next `run` sets it aside before starting
  /// its own segment, says so, and the run stays clean — so a crash while starting never becomes
  /// damage once a later segment exists.
  func testTheNewestSegmentCutBeforeItsHeaderIsACrashAndTheNextSessionSetsItAside() throws {
    let path = try manifest()
    let run = "\(work)/crashed"
    try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none", "--max-tiles", "2"])
    let first = try XCTUnwrap(try FaultHarness.segments(of: run).first)
    let crashed = "\(run)/journal/segment-000002.log"
    try Data(try FileBytes.read(path: first).prefix(50)).write(to: URL(fileURLWithPath: crashed))
    XCTAssertEqual(try CLIHarness.succeed(["verify", run]).stdout, "2 of 2 journaled tiles intact; 4 tiles not computed yet\n")
    XCTAssertTrue(try CLIHarness.succeed(["status", run]).stdout.contains("tiles:    2/6"))
    let resumed = try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(lines(resumed.stderr), ["\(crashed): ended before its header (50 bytes): the newest segment of a session that crashed while starting, holding no record; set aside as \(crashed).damaged before this session's segment (only a writer's newest segment may end torn)"])
    XCTAssertEqual(try FaultHarness.segments(of: run), [first, "\(run)/journal/segment-000003.log"])
    let verify = try CLIHarness.succeed(["verify", run])
    XCTAssertTrue(verify.stdout.contains("\n6 of 6 journaled tiles intact\n"), verify.stdout)
    XCTAssertTrue(verify.stdout.contains("KEPT \(crashed).damaged: "), verify.stdout)
    // An empty segment (truncated back after ENOSPC) is no damage, earlier or not.
    try Data().write(to: URL(fileURLWithPath: crashed))
    XCTAssertTrue(try CLIHarness.succeed(["verify", run]).stdout.contains("\n6 of 6 journaled tiles intact\n"))
  }

  /// Sharded runs: each shard's segments are its own writer's. A shard's segment cut before its
  /// header is tolerated while it is that shard's newest, however many later segments other
  /// shards wrote; an earlier one of the same shard is damage.
  func testNewestMeansNewestOfTheSameShard() throws {
    let path = try manifest()
    let run = "\(work)/sharded"
    try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none", "--shard", "0/2"])
    try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none", "--shard", "1/2", "--max-tiles", "1"])
    try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none", "--shard", "1/2"])
    let segments = try FaultHarness.segments(of: run)
    let shard0 = segments.filter { $0.contains(".shard-0-of-2.") }
    let shard1 = segments.filter { $0.contains(".shard-1-of-2.") }
    XCTAssertEqual([shard0.count, shard1.count], [1, 2], "\(segments)")
    let reference = try FaultHarness.assembled(run, output: "\(work)/reference.npy")

    // Shard 0's only segment, cut: its newest, though shard 1's are later. Tolerated; shard 0 run
    // again sets it aside and computes its tiles again.
    let newest = "\(work)/newest"
    try FaultHarness.copy(run, to: newest)
    let cut0 = shard0[0].replacingOccurrences(of: run, with: newest)
    try FaultHarness.truncate(cut0, to: 20)
    XCTAssertEqual(try CLIHarness.run(["verify", newest]).status, 0)
    let again = try CLIHarness.succeed(["run", path, "--run-dir", newest, "--progress", "none", "--shard", "0/2"])
    XCTAssertTrue(again.stderr.contains("\(cut0): ended before its header (20 bytes): "), again.stderr)
    XCTAssertTrue(try CLIHarness.succeed(["verify", newest]).stdout.contains("6 of 6 journaled tiles intact"))
    XCTAssertTrue(try FaultHarness.assembled(newest, output: "\(work)/newest.npy") == reference)

    // Shard 1's earlier segment, cut while its later one exists: damage.
    let earlier = "\(work)/earlier"
    try FaultHarness.copy(run, to: earlier)
    let cut1 = shard1[0].replacingOccurrences(of: run, with: earlier)
    try FaultHarness.truncate(cut1, to: 20)
    let verify = try CLIHarness.run(["verify", earlier])
    XCTAssertEqual(verify.status, 1, verify.stdout)
    XCTAssertTrue(verify.stderr.contains("\(cut1): cut short before its header (20 bytes, no complete header record), though \(shard1[1].replacingOccurrences(of: run, with: earlier)), a later segment of the same writer (shard 1/2), started after it"), verify.stderr)
    try CLIHarness.succeed(["repair", earlier])
    try CLIHarness.succeed(["run", path, "--run-dir", earlier, "--progress", "none", "--shard", "1/2"])
    XCTAssertTrue(try FaultHarness.assembled(earlier, output: "\(work)/earlier.npy") == reference)
  }

  // MARK: 2. JSON syntax errors say where they are

  func testJSONSyntaxErrorsNameTheFileLineAndColumn() throws {
    // A manifest missing a comma at the end of its second line.
    let path = "\(work)/syntax.json"
    try CLIHarness.writeText("{\"name\": \"s\",\n \"dataset\": {\"name\": \"mnist\" \"root\": \"x\"},\n \"model\": {\"name\": \"lenet\"}}\n", to: path)
    let refused = try CLIHarness.run(["check", path])
    XCTAssertEqual(refused.status, 2, refused.stderr)
    XCTAssertEqual(lines(refused.stderr), ["ntkbatch: error: \(path): not valid JSON: expected ',' or '}' after an object member, found '\"' at byte 43 (line 2, column 30), expected a JSON object like {\"name\": …, \"dataset\": {…}, \"model\": {…}, \"ntk\": {…}}"])
    XCTAssertEqual(try CLIHarness.run(["run", path, "--run-dir", "\(work)/never", "--progress", "none"]).stderr, refused.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/never"))

    // RUN/checksums.json and RUN/outputs.json of a complete run.
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", try manifest(), "--run-dir", run, "--progress", "none"])
    try CLIHarness.succeed(["assemble", run, "--output", "\(work)/g.npy", "--progress", "none"])
    try CLIHarness.writeText("{\"sha256\": {\n  \"logits.npy\" \"00\"}}\n", to: "\(run)/checksums.json")
    let verify = try CLIHarness.run(["verify", run])
    XCTAssertEqual(verify.status, 1, verify.stdout)
    XCTAssertTrue(verify.stdout.contains("DAMAGED \(run)/checksums.json: not valid JSON: expected ':' after the key, found '\"' at byte 28 (line 2, column 16)"), verify.stdout)
    XCTAssertFalse(verify.stdout.contains("DAMAGED \(run)/logits.npy"), verify.stdout)
    // An entry that is not a SHA-256 is the checksums file's damage, not the logits': repair
    // removes checksums.json and keeps logits.npy (it deleted it, and run computed it again).
    let logits = try FileBytes.read(path: "\(run)/logits.npy")
    try CLIHarness.writeText("{\"sha256\": {\"logits.npy\": \"ab\"}}\n", to: "\(run)/checksums.json")
    let entry = try CLIHarness.run(["verify", run])
    XCTAssertEqual(entry.status, 1, entry.stdout)
    XCTAssertTrue(entry.stdout.contains("DAMAGED \(run)/checksums.json: sha256.logits.npy: expected 64 hex digits"), entry.stdout)
    XCTAssertFalse(entry.stdout.contains("DAMAGED \(run)/logits.npy"), entry.stdout)
    let repaired = try CLIHarness.succeed(["repair", run])
    XCTAssertFalse(repaired.stdout.contains("\(run)/logits.npy"), repaired.stdout)
    XCTAssertEqual(try FileBytes.read(path: "\(run)/logits.npy"), logits)
    try CLIHarness.writeText("{\"version\": 1, \"outputs\": [}\n", to: "\(run)/outputs.json")
    let assemble = try CLIHarness.run(["assemble", run, "--output", "\(work)/g.npy", "--progress", "none"])
    XCTAssertEqual(assemble.status, 2, assemble.stderr)
    XCTAssertTrue(assemble.stderr.contains("\(run)/outputs.json is damaged: not valid JSON: expected a value (an object, array, string, number, true, false or null), found '}' at byte 27 (line 1, column 28)"), assemble.stderr)

    // RUN/training/latest.json.
    let (_, trained) = try trainedRun()
    let latest = "\(trained)/training/latest.json"
    try CLIHarness.writeText("{\"epoch\": 2,\n \"loss\": 1.0\n \"accuracy\": 0.5}\n", to: latest)
    let status = try CLIHarness.run(["status", trained])
    XCTAssertEqual(status.status, 1, status.stdout)
    XCTAssertTrue(status.stdout.contains("training: DAMAGED: \(latest): not a training record: not valid JSON: expected ',' or '}' after an object member, found '\"' at byte 27 (line 3, column 2)"), status.stdout)
  }
}
