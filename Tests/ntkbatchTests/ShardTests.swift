import Foundation
import Storage
import XCTest

/// Shards of one run directory (`run --shard K/N`): written at once they give the one-process
/// matrix; a duplicated journal segment breaks no command; resharding recomputes nothing
/// journaled; `check --shards` and `slurm` print and write what they promise.
final class ShardTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("shards") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  /// LeNet on 200 MNIST digits in tiles of 20: 10 blocks, 55 tiles.
  private func manifest() throws -> String {
    try FaultHarness.mnistManifest(in: work, subsample: 200, tileSamples: 20)
  }

  /// The matrix of an unsharded, uninterrupted run.
  private func reference(_ manifest: String) throws -> [UInt8] {
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/reference", "--progress", "none"])
    return try FaultHarness.assembled("\(work)/reference", output: "\(work)/reference.npy")
  }

  private func runShard(_ manifest: String, _ run: String, _ shard: String, extra: [String] = []) throws -> [Int] {
    let result = try CLIHarness.run(["run", manifest, "--run-dir", run, "--shard", shard, "--progress", "tiles"] + extra)
    XCTAssertEqual(result.status, 0, "shard \(shard): \(result.stderr)")
    return FaultHarness.tileLines(result.stdout)
  }

  func testTwoShardsAtOnceOnOneDirectoryGiveTheOneProcessMatrix() throws {
    let manifest = try manifest()
    let expected = try reference(manifest)
    let run = "\(work)/run"
    var processes: [Process] = []
    for k in 0..<2 {
      let logs = "\(work)/shard-\(k)"
      try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
      processes.append(try CLIHarness.start(["run", manifest, "--run-dir", run, "--shard", "\(k)/2", "--progress", "tiles"], logDirectory: logs))
    }
    var tiles: [[Int]] = []
    for (k, process) in processes.enumerated() {
      process.waitUntilExit()
      let stderr = try String(contentsOfFile: "\(work)/shard-\(k)/stderr.log", encoding: .utf8)
      XCTAssertEqual(process.terminationStatus, 0, stderr)
      XCTAssertTrue(stderr.contains("shard \(k)/2:"), stderr)
      tiles.append(FaultHarness.tileLines(try String(contentsOfFile: "\(work)/shard-\(k)/stdout.log", encoding: .utf8)))
    }
    // Contiguous, disjoint, together the whole plan; both started at once (two segments, distinct names).
    XCTAssertEqual(tiles[0] + tiles[1], Array(0..<55))
    XCTAssertFalse(tiles[0].isEmpty || tiles[1].isEmpty)
    let segments = try FaultHarness.segments(of: run).map { ($0 as NSString).lastPathComponent }
    XCTAssertEqual(segments.count, 2, "\(segments)")
    XCTAssertTrue(segments.allSatisfy { $0.range(of: #"^segment-00000[12]\.shard-[01]-of-2\.[0-9a-f]{8}\.log$"#, options: .regularExpression) != nil }, "\(segments)")
    let status = try CLIHarness.succeed(["status", run])
    XCTAssertTrue(status.stdout.contains("tiles:    55/55"), status.stdout)
    XCTAssertTrue(status.stdout.contains("shards:   2: 2 complete, 0 started and unfinished, 0 not started"), status.stdout)
    XCTAssertTrue(status.stdout.contains("shard 0/2: \(tiles[0].count)/\(tiles[0].count) tiles"), status.stdout)
    XCTAssertTrue(status.stdout.contains("shard 1/2: \(tiles[1].count)/\(tiles[1].count) tiles"), status.stdout)
    try CLIHarness.succeed(["verify", run])
    XCTAssertEqual(try FaultHarness.assembled(run, output: "\(work)/sharded.npy"), expected, "byte-identical to one process")
    XCTAssertEqual(try FileBytes.read(path: "\(run)/logits.npy"), try FileBytes.read(path: "\(work)/reference/logits.npy"))
  }

  /// Shards of the newest count that never wrote are named as shards `K/N` (a bare "0" read as a count).
  func testStatusNamesTheShardsNotStarted() throws {
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 60, tileSamples: 20)  // 6 tiles
    let run = "\(work)/run"
    XCTAssertFalse(try runShard(manifest, run, "1/3").isEmpty)
    let status = try CLIHarness.succeed(["status", run])
    XCTAssertTrue(status.stdout.contains("shards:   3: 1 complete, 0 started and unfinished, 2 not started"), status.stdout)
    XCTAssertTrue(status.stdout.contains("  not started: shard 0/3, 2/3\n"), status.stdout)
  }

  /// After a change of shard count every shard of the newest count is accounted for: one whose
  /// tiles an earlier count journaled is "never needed" (a tester's finding: `3: 1 complete, 0
  /// started and unfinished, 1 not started`, shard 0/3 counted nowhere).
  func testEveryShardOfTheNewestCountIsCountedAfterResharding() throws {
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 60, tileSamples: 20)  // 6 tiles
    let run = "\(work)/run"
    let first = try runShard(manifest, run, "0/2")
    XCTAssertFalse(first.isEmpty)
    _ = try runShard(manifest, run, "1/3")
    let status = try CLIHarness.succeed(["status", run]).stdout
    let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("shards:   3: ") }, status)
    let numbers = line.dropFirst("shards:   3: ".count).split(separator: ",").map { part in
      Int(part.trimmingCharacters(in: .whitespaces).prefix { $0.isNumber }) ?? -1
    }
    XCTAssertEqual(numbers.prefix(4).reduce(0, +), 3, String(line))
    // Shard 0/3's tiles begin the plan, as shard 0/2's do, which journaled them: never needed.
    XCTAssertEqual(String(line), "shards:   3: 1 complete, 0 started and unfinished, 1 not started, 1 never needed (their tiles journaled by an earlier shard count)")
    XCTAssertTrue(status.contains("  not started: shard 2/3\n"), status)
  }

  func testADuplicatedJournalSegmentLeavesEveryCommandWorking() throws {
    let manifest = try manifest()
    let expected = try reference(manifest)
    let run = "\(work)/run"
    XCTAssertEqual(try runShard(manifest, run, "0/2").count + runShard(manifest, run, "1/2").count, 55)
    // A byte-identical copy of shard 0's segment under another session id (a copy of a shard run
    // twice where flock does not reach, or a restore that doubled a file).
    let original = try FaultHarness.segments(of: run).first { $0.contains(".shard-0-of-2.") }!
    let copy = original.replacingOccurrences(of: #"\.[0-9a-f]{8}\.log$"#, with: ".ffffffff.log", options: .regularExpression)
    XCTAssertNotEqual(copy, original)
    try FileManager.default.copyItem(atPath: original, toPath: copy)
    let duplicates = try FaultHarness.frames(of: original).count - 1

    let status = try CLIHarness.succeed(["status", run])
    XCTAssertTrue(status.stdout.contains("tiles:    55/55"), status.stdout)
    XCTAssertTrue(status.stdout.contains("\(duplicates) duplicate journal record\(duplicates == 1 ? "" : "s")"), status.stdout)
    let verify = try CLIHarness.succeed(["verify", run])
    XCTAssertTrue(verify.stdout.contains("55 of 55 journaled tiles intact"), verify.stdout)
    XCTAssertTrue(verify.stdout.contains("\(duplicates) duplicate journal record\(duplicates == 1 ? "" : "s")"), verify.stdout)
    XCTAssertEqual(try FaultHarness.assembled(run, output: "\(work)/a.npy"), expected)
    XCTAssertEqual(try runShard(manifest, run, "0/2"), [], "nothing recomputed")
    let whole = try CLIHarness.run(["run", manifest, "--run-dir", run, "--progress", "tiles"])
    XCTAssertEqual(whole.status, 0, whole.stderr)
    XCTAssertEqual(FaultHarness.tileLines(whole.stdout), [])

    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("REMOVED \(duplicates) duplicate record\(duplicates == 1 ? "" : "s") from \(copy)"), repair.stdout)
    let after = try CLIHarness.succeed(["status", run])
    XCTAssertFalse(after.stdout.contains("duplicate"), after.stdout)
    XCTAssertTrue(after.stdout.contains("tiles:    55/55"), after.stdout)
    try CLIHarness.succeed(["verify", run])
    XCTAssertEqual(try FaultHarness.assembled(run, output: "\(work)/b.npy"), expected)
  }

  /// A tile journaled with two different objects (overlapping shards run with different
  /// OPENBLAS_NUM_THREADS: both valid, equal only to rounding) stops every command with a message
  /// naming `repair`; `repair` keeps the earliest record, withdraws the later one and removes its
  /// object, and then verify and assemble work.
  func testATileJournaledWithTwoObjectsIsResolvedByRepair() throws {
    let manifest = try manifest()
    let expected = try reference(manifest)
    let run = "\(work)/run"
    XCTAssertEqual(try runShard(manifest, run, "0/2").count + runShard(manifest, run, "1/2").count, 55)
    // A later session of shard 0 that journaled its first tile again, with another object.
    let original = try FaultHarness.segments(of: run).first { $0.contains(".shard-0-of-2.") }!
    let later = original.replacingOccurrences(of: #"\.[0-9a-f]{8}\.log$"#, with: ".ffffffff.log", options: .regularExpression)
    let bytes = try FileBytes.read(path: original)
    let frames = try FaultHarness.frames(of: original)
    let header = Array(bytes[frames[0].offset..<(frames[0].offset + frames[0].length)])
    let payload = Array(bytes[(frames[1].offset + 36)..<(frames[1].offset + frames[1].length)])
    let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
    let tile = try XCTUnwrap(record["tile"] as? [String: Any])
    let index = try XCTUnwrap(tile["index"] as? Int)
    let object = try XCTUnwrap(tile["object"] as? String)
    let otherBytes = Array("another computation of the tile".utf8)
    let other = ContentHash.sha256(otherBytes).hex
    try FileManager.default.createDirectory(atPath: "\(run)/objects/\(other.prefix(2))", withIntermediateDirectories: true)
    try Data(otherBytes).write(to: URL(fileURLWithPath: FaultHarness.objectPath(run, other)))
    let changed = Array(String(decoding: payload, as: UTF8.self).replacingOccurrences(of: object, with: other).utf8)
    XCTAssertEqual(changed.count, payload.count)
    let length = UInt32(changed.count)
    let frame = [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)]
      + ContentHash.sha256(changed).digestBytes + changed
    try Data(header + frame).write(to: URL(fileURLWithPath: later))

    for command in [["status", run], ["verify", run]] {
      let result = try CLIHarness.run(command)
      XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
      XCTAssertTrue(result.stderr.contains("tile \(index) ") && result.stderr.contains("journaled twice with different objects"), result.stderr)
      XCTAssertTrue(result.stderr.contains("`ntkbatch repair` keeps the earliest record"), result.stderr)
    }

    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("WITHDREW tile \(index)'s record at byte \(frames[0].length) of \(later) (object \(other.prefix(12))…)"), repair.stdout)
    XCTAssertTrue(repair.stdout.contains("REMOVED orphan object \(other)"), repair.stdout)
    XCTAssertFalse(FileManager.default.fileExists(atPath: FaultHarness.objectPath(run, other)))
    XCTAssertEqual(try FaultHarness.journaledObjects(run)[index], object, "the earliest record is kept")
    let verify = try CLIHarness.succeed(["verify", run])
    XCTAssertTrue(verify.stdout.contains("55 of 55 journaled tiles intact"), verify.stdout)
    XCTAssertEqual(try FaultHarness.assembled(run, output: "\(work)/a.npy"), expected)
    XCTAssertEqual(try runShard(manifest, run, "0/2"), [], "nothing recomputed")
    let again = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(again.stdout.contains("nothing to repair"), again.stdout)
  }

  func testReshardingThreeThenFiveRecomputesNoJournaledTile() throws {
    let manifest = try manifest()
    let expected = try reference(manifest)
    let run = "\(work)/run"
    var computed: [Int] = []
    computed += try runShard(manifest, run, "0/3")
    computed += try runShard(manifest, run, "1/3", extra: ["--max-tiles", "4"])
    computed += try runShard(manifest, run, "2/3", extra: ["--max-tiles", "2"])
    XCTAssertLessThan(computed.count, 55)
    let firstAttempt = Set(computed)
    XCTAssertEqual(firstAttempt.count, computed.count)
    var second: [Int] = []
    for k in 0..<5 { second += try runShard(manifest, run, "\(k)/5") }
    XCTAssertTrue(firstAttempt.isDisjoint(with: second), "a journaled tile was computed again: \(firstAttempt.intersection(second).sorted())")
    XCTAssertEqual(Set(second).count, second.count)
    XCTAssertEqual(firstAttempt.union(second), Set(0..<55))
    let status = try CLIHarness.succeed(["status", run])
    XCTAssertTrue(status.stdout.contains("shards:   5: 5 complete"), status.stdout)
    try CLIHarness.succeed(["verify", run])
    XCTAssertEqual(try FaultHarness.assembled(run, output: "\(work)/resharded.npy"), expected)
  }

  func testSecondCopyOfAShardIsRefusedNamingItButAnotherShardRuns() throws {
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 300, tileSamples: 10)
    let logs = "\(work)/first"
    try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
    let first = try CLIHarness.start(["run", manifest, "--run-dir", "\(work)/run", "--shard", "0/2", "--progress", "tiles"], logDirectory: logs)
    defer { if first.isRunning { kill(first.processIdentifier, SIGKILL); first.waitUntilExit() } }
    let deadline = Date().addingTimeInterval(60)
    while first.isRunning, Date() < deadline,
          FaultHarness.tileLines(CLIHarness.log(logs, "stdout")).isEmpty {
      usleep(2_000)
    }
    XCTAssertTrue(first.isRunning)
    let second = try FaultHarness.run(["run", manifest, "--run-dir", "\(work)/run", "--shard", "0/2", "--progress", "none"], timeout: 30)
    XCTAssertEqual(second.status, 2, second.stderr)
    XCTAssertTrue(second.stderr.contains("shard 0/2 is in use by pid \(first.processIdentifier) on host"), second.stderr)
    let other = try FaultHarness.run(["run", manifest, "--run-dir", "\(work)/run", "--shard", "1/2", "--progress", "none", "--max-tiles", "1"], timeout: 60)
    XCTAssertEqual(other.status, 0, other.stderr)
    let status = try CLIHarness.succeed(["status", "\(work)/run"])
    XCTAssertTrue(status.stdout.contains("running (pid \(first.processIdentifier) on host"), status.stdout)
    let repair = try FaultHarness.run(["repair", "\(work)/run"], timeout: 30)
    XCTAssertEqual(repair.status, 2, repair.stderr)
    XCTAssertTrue(repair.stderr.contains("repair only when no shard is running"), repair.stderr)
    for bad in ["2/2", "1/0", "a/b", "-1/2", "+1/2", "01/2"] {
      let result = try CLIHarness.run(["run", manifest, "--shard", bad])
      XCTAssertEqual(result.status, 64, "\(bad): \(result.stderr)")
    }
    let slurm = try CLIHarness.run(["run", manifest, "--run-dir", "\(work)/run2", "--shard", "slurm"])
    XCTAssertEqual(slurm.status, 2, slurm.stderr)
    XCTAssertTrue(slurm.stderr.contains("SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT are not set"), slurm.stderr)
  }

  /// A run without --shard while a shard runs (and a shard while such a run runs) is refused,
  /// naming the holder: 45 of 55 tiles were computed twice when it was not.
  func testWholePlanRunAndShardsRefuseEachOther() throws {
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 300, tileSamples: 10)
    for (first, second, message) in [
      (["--shard", "0/2"], [String](), "a shard is being written by pid "),
      ([String](), ["--shard", "1/2"], "the whole run is being written by pid "),
    ] {
      let run = "\(work)/run\(first.isEmpty ? "-whole" : "-shard")", logs = run + "-logs"
      try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
      let running = try CLIHarness.start(["run", manifest, "--run-dir", run, "--progress", "tiles"] + first, logDirectory: logs)
      defer { if running.isRunning { kill(running.processIdentifier, SIGKILL); running.waitUntilExit() } }
      let deadline = Date().addingTimeInterval(60)
      while running.isRunning, Date() < deadline,
            FaultHarness.tileLines(CLIHarness.log(logs, "stdout")).isEmpty {
        usleep(2_000)
      }
      XCTAssertTrue(running.isRunning)
      let refused = try FaultHarness.run(["run", manifest, "--run-dir", run, "--progress", "none"] + second, timeout: 30)
      XCTAssertEqual(refused.status, 2, refused.stderr)
      XCTAssertTrue(refused.stderr.contains(message + "\(running.processIdentifier) on host"), refused.stderr)
      XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
      XCTAssertTrue(running.isRunning, "the first writer goes on")
      kill(running.processIdentifier, SIGTERM)
      running.waitUntilExit()
      XCTAssertEqual(running.terminationStatus, 75)
      let after = try FaultHarness.run(["run", manifest, "--run-dir", run, "--progress", "none", "--max-tiles", "1"] + second, timeout: 60)
      XCTAssertEqual(after.status, 0, "once the first writer stopped: \(after.stderr)")
    }
  }

  /// Training is one sequential computation: `run --shard` and `slurm` refuse a manifest with
  /// `model.train` (exit 2, one line naming the field and what to do), before touching the run.
  func testShardsRefuseAManifestThatTrains() throws {
    let path = try FaultHarness.mnistTrainingManifest(in: work, name: "train-shards", trainSamples: 100)
    for arguments in [["run", path, "--run-dir", "\(work)/run", "--shard", "0/2"],
                      ["slurm", path, "--array", "2", "--time", "1:00:00", "--run-dir", "\(work)/run"]] {
      let result = try CLIHarness.run(arguments)
      XCTAssertEqual(result.status, 2, result.stderr)
      XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
      XCTAssertTrue(result.stderr.contains("model.train: a sharded run computes the eNTK of fixed weights"), result.stderr)
      XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/run"), "nothing written for \(arguments[0])")
    }
  }

  func testCheckPrintsCostDiskAndShardBalance() throws {
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 1000, tileSamples: 100)
    let check = try CLIHarness.succeed(["check", manifest, "--shards", "10"])
    let lines = check.stdout.split(separator: "\n").map(String.init)
    let cost = try XCTUnwrap(lines.first { $0.hasPrefix("cost:") }, check.stdout)
    XCTAssertTrue(cost.contains("GFLOP/s (GEMM 1024³"), cost)
    XCTAssertNotNil(cost.range(of: #"→ about [0-9.]+ (hours|minutes|seconds)$"#, options: .regularExpression), cost)
    XCTAssertFalse(cost.contains("0.00 hours"), cost)
    // A small run says seconds or minutes, not "about 0.00 hours".
    let small = try CLIHarness.succeed(["check", try FaultHarness.npyManifest(in: work, samples: 6, tileSamples: 3)])
    let smallCost = try XCTUnwrap(small.stdout.split(separator: "\n").first { $0.hasPrefix("cost:") }, small.stdout)
    // Under 0.05 s of computing: said so, not "about 0.0 seconds" (tester-s9b L6).
    XCTAssertTrue(smallCost.hasSuffix("→ under 0.1 seconds"), String(smallCost))
    XCTAssertTrue(smallCost.contains("each block once: the cache holds all 2 blocks"), String(smallCost))
    // One of a thing is singular.
    try FileManager.default.createDirectory(atPath: "\(work)/single", withIntermediateDirectories: true)
    let single = try CLIHarness.succeed(["check", try FaultHarness.npyManifest(in: "\(work)/single", samples: 3, tileSamples: 3)])
    XCTAssertTrue(single.stdout.contains("plan:     1 block of up to 3 samples, 1 tile, "), single.stdout)
    XCTAssertTrue(single.stdout.contains(", each block once); this machine"), single.stdout)
    // Its 3 tiles of 3 samples compute in well under a millisecond each: storing them is what takes time.
    let note = try XCTUnwrap(small.stdout.split(separator: "\n").first { $0.hasPrefix("note:") }, small.stdout)
    XCTAssertTrue(note.hasPrefix("note:     3 tiles of under 1 ms of computing each: storing a tile"), String(note))
    XCTAssertTrue(note.contains("`ntkbatch status` gives the measured ETA"), String(note))
    let disk = try XCTUnwrap(lines.first { $0.hasPrefix("disk:") }, check.stdout)
    // 55 tiles of 1000 × 1000 float32 values (diagonal tiles stored whole): 220,000,000 bytes.
    XCTAssertTrue(disk.contains("objects up to 209.8 MiB"), disk)
    XCTAssertTrue(disk.contains("float16 190.7 MiB, float32 381.5 MiB, float64 762.9 MiB"), disk)
    let shards = try XCTUnwrap(lines.first { $0.hasPrefix("shards:") }, check.stdout)
    let balance = try XCTUnwrap(shards.range(of: #"max/mean [0-9.]+"#, options: .regularExpression).map { Double(shards[$0].split(separator: " ")[1])! })
    XCTAssertGreaterThanOrEqual(balance, 1)
    XCTAssertLessThan(balance, 1.3, "55 tiles in 10 shards: within about one tile of the mean")
  }

  /// `check` sizes a cached block as the run holds it, with the plan's per-layer choice: resnet18
  /// width 64's structured last stages hold cotangents and patches, not rows (tester-s9: it counted
  /// explicit rows, about 10× more, and said the cache held 0 of 4 blocks where the run cached them).
  func testCheckCountsCachedBlocksWithThePlansContractionChoice() throws {
    let manifest = try CLIHarness.writeManifest([
      "name": "cache-count",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 16],
      "model": ["name": "resnet18", "width": 64],
      "ntk": ["precision": "float32", "tileSamples": 4, "memoryBudget": 2_000_000_000],
    ], in: work, name: "cache-count")
    let check = try CLIHarness.succeed(["check", manifest])
    let cost = try XCTUnwrap(check.stdout.split(separator: "\n").first { $0.hasPrefix("cost:") }, check.stdout)
    XCTAssertTrue(cost.contains("each block once: the cache holds all 4 blocks"), String(cost))
  }

  func testSlurmWritesTheArrayAndTheDependentAssembleScripts() throws {
    let manifest = try manifest()
    let result = try CLIHarness.run(["slurm", manifest, "--array", "4", "--run-dir", "\(work)/run", "--time", "1:00:00",
                                     "--cpus-per-task", "2", "--mem", "2G", "--partition", "debug"])
    XCTAssertEqual(result.status, 0, result.stderr)
    XCTAssertTrue(result.stdout.contains("submit with: \(work)/run/slurm/submit.sh"), result.stdout)
    let shards = try String(contentsOfFile: "\(work)/run/slurm/shards.sbatch", encoding: .utf8)
    for line in ["#SBATCH --array=0-3", "#SBATCH --requeue", "#SBATCH --signal=B:TERM@120", "#SBATCH --time=1:00:00",
                 "#SBATCH --cpus-per-task=2", "#SBATCH --mem=2G", "#SBATCH --partition=debug",
                 "#SBATCH --output=\(work)/run/slurm/logs/shard-%a.log", "--shard \"${SLURM_ARRAY_TASK_ID}/4\"",
                 "scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\""] {
      XCTAssertTrue(shards.contains(line), "\(line) missing from:\n\(shards)")
    }
    let finish = try String(contentsOfFile: "\(work)/run/slurm/finish.sbatch", encoding: .utf8)
    XCTAssertTrue(finish.contains("#SBATCH --cpus-per-task=2\n"), finish)
    XCTAssertTrue(finish.contains("#SBATCH --time=1:00:00\n"), finish)
    XCTAssertTrue(finish.contains("verify '\(work)/run'"), finish)
    XCTAssertTrue(finish.contains("assemble '\(work)/run' --dtype float32 --output '\(work)/faults-entk-float32.npy'"), finish)
    let submit = try String(contentsOfFile: "\(work)/run/slurm/submit.sh", encoding: .utf8)
    XCTAssertTrue(submit.contains("--dependency=afterok:\"$array\""), submit)
    for bad in [["--array", "0"], ["--array", "2", "--time", "1h"], ["--array", "2", "--mem", "lots"],
                ["--array", "2", "--time", "1"], ["--array", "2", "--time", "2:30"], ["--array", "2", "--time", "1-2-3"],
                ["--array", "2", "--finish-time", "x"], ["--array", "2", "--max-requeues", "-1"]] {
      let refused = try CLIHarness.run(["slurm", manifest] + bad)
      XCTAssertEqual(refused.status, 64, "\(bad): \(refused.stderr)")
    }
    let short = try CLIHarness.run(["slurm", manifest, "--array", "2", "--time", "1"])
    XCTAssertTrue(short.stderr.contains("--time 1: 60 s leaves no time to compute: SIGTERM comes 120 s before the limit"), short.stderr)
    // More shards than the 55 tiles: written, with a warning; check --shards says so too (56
    // shards balanced by cost leave 2 empty).
    let many = try CLIHarness.run(["slurm", manifest, "--array", "100000", "--run-dir", "\(work)/many", "--time", "3:01", "--finish-time", "2-00:00:00"])
    XCTAssertEqual(many.status, 0, many.stderr)
    XCTAssertTrue(many.stderr.contains("warning: --array 100000: the plan has only 55 tiles"), many.stderr)
    XCTAssertTrue(try String(contentsOfFile: "\(work)/many/slurm/finish.sbatch", encoding: .utf8).contains("#SBATCH --time=2-00:00:00\n"))
    let check = try CLIHarness.succeed(["check", manifest, "--shards", "56"])
    XCTAssertTrue(check.stdout.contains("warning:  2 of 56 shards hold no tile (the plan has 55 tiles): use at most 55 shards"), check.stdout)
  }

  /// shards.sbatch run by bash with Slurm's environment, `ntkbatch` replaced by a stub (`run`:
  /// journals one tile of the shard when told to, exits 75; `status --tiles-done`: the count) and
  /// `scontrol` by one that logs: an attempt that journals a tile is requeued however often the
  /// task restarted; attempts without a new tile are requeued --max-requeues times in a row, then
  /// not, with a line saying why; the stub is given shard K/N, also for a partial re-submission.
  func testShardScriptRequeuesWhileAttemptsJournalTilesThenStopsAfterTheLimitWithout() throws {
    let manifest = try manifest()
    try CLIHarness.succeed(["slurm", manifest, "--array", "4", "--run-dir", "\(work)/run", "--max-requeues", "3"])
    let stubs = "\(work)/stubs"
    try FileManager.default.createDirectory(atPath: stubs, withIntermediateDirectories: true)
    try """
      #!/bin/bash
      echo "stub $*" >> '\(work)/calls.log'
      if [ "$1" = status ]; then cat '\(work)/done' 2>/dev/null || echo 0; exit 0; fi
      if [ -e '\(work)/progress' ]; then echo $(( $(cat '\(work)/done' 2>/dev/null || echo 0) + 1 )) > '\(work)/done'; fi
      exit 75

      """.write(toFile: "\(stubs)/ntkbatch", atomically: true, encoding: .utf8)
    try "#!/bin/bash\necho \"scontrol $*\" >> '\(work)/calls.log'\n".write(toFile: "\(stubs)/scontrol", atomically: true, encoding: .utf8)
    // squeue: the task's state as `squeue -h -j JOB_TASK -o %T` prints it (RUNNING unless `state` says otherwise).
    try "#!/bin/bash\necho \"squeue $*\" >> '\(work)/calls.log'\ncat '\(work)/state' 2>/dev/null || echo RUNNING\n"
      .write(toFile: "\(stubs)/squeue", atomically: true, encoding: .utf8)
    chmod("\(stubs)/ntkbatch", 0o755)
    chmod("\(stubs)/scontrol", 0o755)
    chmod("\(stubs)/squeue", 0o755)
    let script = try String(contentsOfFile: "\(work)/run/slurm/shards.sbatch", encoding: .utf8)
      .replacingOccurrences(of: "'\(CLIHarness.binary.path)'", with: "'\(stubs)/ntkbatch'")
    try script.write(toFile: "\(work)/shards.sh", atomically: true, encoding: .utf8)
    let streakFile = "\(work)/run/slurm/no-progress/shard-3"
    func attempt(restarts: Int, progress: Bool) throws -> (text: String, calls: String) {
      try? FileManager.default.removeItem(atPath: "\(work)/calls.log")
      if progress { FileManager.default.createFile(atPath: "\(work)/progress", contents: nil) } else { try? FileManager.default.removeItem(atPath: "\(work)/progress") }
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/bin/bash")
      process.arguments = ["\(work)/shards.sh"]
      // A re-submission of task 3 alone (sbatch --array=3): min = max = 3, one task.
      process.environment = ["PATH": "\(stubs):/usr/bin:/bin", "SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "3",
                             "SLURM_ARRAY_TASK_MAX": "3", "SLURM_ARRAY_TASK_COUNT": "1", "SLURM_ARRAY_JOB_ID": "77",
                             "SLURM_RESTART_COUNT": "\(restarts)"]
      let output = Pipe()
      process.standardOutput = output
      try process.run()
      let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      XCTAssertEqual(process.terminationStatus, 75, text)
      let calls = try String(contentsOfFile: "\(work)/calls.log", encoding: .utf8)
      XCTAssertTrue(calls.contains("--shard 3/4 --progress lines"), calls)
      XCTAssertTrue(calls.contains("stub status \(work)/run --tiles-done --shard 3/4"), calls)
      XCTAssertTrue(text.contains("ntkbatch shard 3 of 4, job 77_3, attempt \(restarts + 1)"), text)
      return (text, calls)
    }
    // Productive attempts are requeued however often the task restarted (25 > --max-requeues 3).
    for (k, restarts) in [0, 24, 25].enumerated() {
      let (text, calls) = try attempt(restarts: restarts, progress: true)
      XCTAssertTrue(text.contains("this attempt journaled 1 new tile of shard 3 (\(k + 1) in all); attempts in a row without a new tile: 0"), text)
      XCTAssertTrue(calls.contains("scontrol requeue 77_3"), calls)
      XCTAssertEqual(try String(contentsOfFile: streakFile, encoding: .utf8), "0\n")
    }
    // Without a new tile: requeued 3 times in a row, then not.
    for streak in 1...4 {
      let (text, calls) = try attempt(restarts: 25 + streak, progress: false)
      XCTAssertTrue(text.contains("this attempt journaled 0 new tiles of shard 3 (3 in all); attempts in a row without a new tile: \(streak)"), text)
      XCTAssertEqual(try String(contentsOfFile: streakFile, encoding: .utf8), "\(streak)\n")
      if streak <= 3 {
        XCTAssertTrue(calls.contains("scontrol requeue 77_3"), calls)
      } else {
        XCTAssertFalse(calls.contains("scontrol"), calls)
        XCTAssertTrue(text.contains("not requeued: 4 attempts in a row journaled no new tile of this shard (ntkbatch slurm --max-requeues 3)"), text)
      }
    }
    // A new tile resets the streak; so does a fresh submission (SLURM_RESTART_COUNT 0).
    let (_, resumed) = try attempt(restarts: 30, progress: true)
    XCTAssertTrue(resumed.contains("scontrol requeue 77_3"), resumed)
    XCTAssertEqual(try String(contentsOfFile: streakFile, encoding: .utf8), "0\n")
    try "7\n".write(toFile: streakFile, atomically: true, encoding: .utf8)
    let (fresh, freshCalls) = try attempt(restarts: 0, progress: false)
    XCTAssertTrue(fresh.contains("attempts in a row without a new tile: 1"), fresh)
    XCTAssertTrue(freshCalls.contains("scontrol requeue 77_3"), freshCalls)
    XCTAssertTrue(freshCalls.contains("squeue -h -j 77_3 -o %T"), freshCalls)
    // A task Slurm is ending (scancel: COMPLETING) is not requeued, even after a productive attempt.
    try "COMPLETING\n".write(toFile: "\(work)/state", atomically: true, encoding: .utf8)
    let (cancelled, cancelledCalls) = try attempt(restarts: 0, progress: true)
    XCTAssertFalse(cancelledCalls.contains("scontrol"), cancelledCalls)
    XCTAssertTrue(cancelled.contains("not requeued by this script: the task is COMPLETING, not RUNNING (cancelled with scancel"), cancelled)
  }

  /// The tester's case with the real `ntkbatch`: attempt 21 (SLURM_RESTART_COUNT 20, the default
  /// --max-requeues 20) of a task that journals tiles, stopped by SIGTERM, is requeued.
  func testRealShardAttemptThatJournalsTilesIsRequeuedPastTheLimit() throws {
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 300, tileSamples: 10)
    try CLIHarness.succeed(["slurm", manifest, "--array", "2", "--time", "1:00:00", "--run-dir", "\(work)/run"])
    let stubs = "\(work)/stubs"
    try FileManager.default.createDirectory(atPath: stubs, withIntermediateDirectories: true)
    try "#!/bin/bash\necho \"scontrol $*\" >> '\(work)/calls.log'\n".write(toFile: "\(stubs)/scontrol", atomically: true, encoding: .utf8)
    chmod("\(stubs)/scontrol", 0o755)
    let logs = "\(work)/task.log"
    FileManager.default.createFile(atPath: logs, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["\(work)/run/slurm/shards.sbatch"]
    process.environment = ["PATH": "\(stubs):/usr/bin:/bin", "SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0",
                           "SLURM_ARRAY_TASK_MAX": "1", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_JOB_ID": "9",
                           "SLURM_CPUS_PER_TASK": "1", "SLURM_RESTART_COUNT": "20"]
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: logs))
    process.standardError = process.standardOutput
    try process.run()
    defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
    let deadline = Date().addingTimeInterval(120)
    func journaled() -> Int {
      guard let status = try? CLIHarness.run(["status", "\(work)/run", "--tiles-done"]), status.status == 0 else { return 0 }
      return Int(status.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
    while process.isRunning, Date() < deadline, journaled() < 2 { usleep(5_000) }
    XCTAssertTrue(process.isRunning, (try? String(contentsOfFile: logs, encoding: .utf8)) ?? "")
    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
    let text = try String(contentsOfFile: logs, encoding: .utf8)
    XCTAssertEqual(process.terminationStatus, 75, text)
    let journaled = try FaultHarness.journaledObjects("\(work)/run").count
    XCTAssertGreaterThanOrEqual(journaled, 2)
    XCTAssertTrue(text.contains("this attempt journaled \(journaled) new \(journaled == 1 ? "tile" : "tiles") of shard 0 (\(journaled) in all); attempts in a row without a new tile: 0"), text)
    XCTAssertFalse(text.contains("not requeued"), text)
    XCTAssertEqual(try String(contentsOfFile: "\(work)/calls.log", encoding: .utf8), "scontrol requeue 9_0\n")
  }
}
