import Engine
import Foundation
import Storage
import TestSupport
import XCTest

/// Small findings of fresh testers: escaped slashes in the JSON files people read, a width
/// printed for models without one, an empty `RUN/assembling` left behind, …
final class SmallFindingsTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("small-findings") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  private func text(_ path: String) throws -> String { String(decoding: try FileBytes.read(path: path), as: UTF8.self) }

  /// LeNet on 12 samples in tiles of 6 (3 tiles), `--max-tiles` of them run.
  private func lenetRun(maxTiles: Int? = nil) throws -> String {
    let manifest = try FaultHarness.npyManifest(in: work, samples: 12, tileSamples: 6)
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"] + (maxTiles.map { ["--max-tiles", String($0)] } ?? []))
    return run
  }

  // MARK: 1. No escaped slashes

  func testFilesPeopleReadHoldPathsWithoutEscapedSlashes() throws {
    // generate: the manifests it writes (a run that fails before its run directory holds anything
    // takes its manifest back, so this one runs: a tiny training and eNTK).
    let root = "\(CLIHarness.repositoryRoot)/data/mnist-sample"
    let generated = try CLIHarness.run(["generate", "--models", "lenet", "--dataset", "mnist", "--root", root,
                                        "--subsample", "10", "--train-samples", "10", "--num-epochs", "1", "--bs", "10", "--tile-samples", "10",
                                        "--output", "\(work)/gen", "--progress", "none"])
    XCTAssertEqual(generated.status, 0, generated.stdout + generated.stderr)
    let manifest = try text("\(work)/gen/lenet-mnist-r0.json")
    XCTAssertTrue(manifest.contains("\"root\" : \"\(root)\""), manifest)
    XCTAssertFalse(manifest.contains("\\/"), manifest)

    // assemble: the mask and the Zarr metadata (the run directory's path, the chunk key separator).
    let run = try lenetRun(maxTiles: 1)
    let output = "\(work)/out/g.zarr"
    try FileManager.default.createDirectory(atPath: "\(work)/out", withIntermediateDirectories: true)
    try CLIHarness.succeed(["assemble", run, "--output", output, "--allow-partial", "--progress", "none"])
    let mask = try text(output + ".missing.json")
    XCTAssertTrue(mask.contains("\"output\" : \"\(output)\""), mask)
    let metadata = try text(output + "/zarr.json")
    XCTAssertTrue(metadata.contains("\"run\" : \"\(run)\""), metadata)
    XCTAssertTrue(metadata.contains("\"separator\" : \"/\""), metadata)
    for (name, content) in [("mask", mask), ("zarr.json", metadata), ("outputs.json", try text(run + "/outputs.json"))] {
      XCTAssertFalse(content.contains("\\/"), "\(name): \(content)")
    }
    // Printed JSON too: dataset info --json names the root.
    let sample = CLIHarness.repositoryRoot + "/data/mnist-sample"
    let info = try CLIHarness.succeed(["dataset", "info", sample, "--name", "mnist", "--subsample", "2", "--json"])
    XCTAssertTrue(info.stdout.contains("\"root\" : \"\(sample)\""), info.stdout)
  }

  // MARK: 2. No width for models without one

  func testCheckZarrAndModelsNameAWidthOnlyForModelsThatHaveOne() throws {
    let run = try lenetRun()
    let check = try CLIHarness.succeed(["check", "\(work)/manifest.json"])
    let model = check.stdout.split(separator: "\n").first { $0.hasPrefix("model:") }.map(String.init) ?? ""
    XCTAssertTrue(model.hasPrefix("model:    lenet, P = 62006 parameters, weights init (seed 0)"), check.stdout)

    let resnet = try CLIHarness.writeManifest([
      "name": "resnet", "dataset": ["name": "npy", "path": "\(work)/inputs.npy"],
      "model": ["name": "resnet18", "width": 4], "ntk": ["tileSamples": 6],
    ], in: work, name: "resnet")
    let resnetCheck = try CLIHarness.succeed(["check", resnet])
    let p = try ModelZoo.size(name: "resnet18", width: 4).parameterCount
    XCTAssertTrue(resnetCheck.stdout.contains("model:    resnet18, width 4, P = \(p) parameters"), resnetCheck.stdout)

    let output = "\(work)/g.zarr"
    try CLIHarness.succeed(["assemble", run, "--output", output, "--progress", "none"])
    let metadata = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(FileBytes.read(path: output + "/zarr.json"))) as? [String: Any])
    let attributes = try XCTUnwrap(metadata["attributes"] as? [String: Any])
    XCTAssertEqual(attributes["model"] as? String, "lenet")
    XCTAssertEqual(attributes["P"] as? Int, 62006)
    XCTAssertNil(attributes["modelWidth"], "\(attributes)")

    let models = try CLIHarness.succeed(["models", "--width", "4", "--json"])
    let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(models.stdout.utf8)) as? [[String: Any]])
    let byName = Dictionary(uniqueKeysWithValues: rows.map { ($0["name"] as? String ?? "", $0) })
    XCTAssertEqual(byName["resnet18"]?["width"] as? Int, 4)
    XCTAssertEqual(byName["resnet18"]?["parameters"] as? Int, p)
    for name in ["lenet", "logistic", "twolayer", "vgg11"] {
      XCTAssertNotNil(byName[name], name)
      XCTAssertNil(byName[name]?["width"], "\(name): \(byName[name] ?? [:])")
    }
  }

  // MARK: 3. RUN/assembling removed when empty

  func testAssembleRemovesItsEmptyRecordFolderButKeepsAnotherAssemblesRecord() throws {
    let run = try lenetRun()
    let folder = run + "/assembling"
    try CLIHarness.succeed(["assemble", run, "--output", "\(work)/g.npy", "--progress", "none"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder), "assemble left an empty \(folder)")
    try CLIHarness.succeed(["assemble", run, "--output", "\(work)/g.zarr", "--progress", "none"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder))
    // Another assemble in progress (this live process's record): its record and the folder stay.
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let other = "\(ProcessInfo.processInfo.processIdentifier)-abc"
    try Data("\(work)/other.npy".utf8).write(to: URL(fileURLWithPath: folder + "/" + other))
    try CLIHarness.succeed(["assemble", run, "--output", "\(work)/g.npy", "--progress", "none"])
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [other])
    try FileManager.default.removeItem(atPath: folder + "/" + other)
    // repair removes an empty folder too (one left by an earlier build).
    try CLIHarness.succeed(["repair", run])
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder))
  }

  // MARK: 4. Nothing to record, no segment

  /// Every file in `RUN/journal` with its bytes.
  private func journal(_ run: String) throws -> [String: [UInt8]] { try CLIHarness.fileTree(run + "/journal") }

  func testANoOpRunOrRepairWritesNoJournalSegment() throws {
    let run = try lenetRun()
    let manifest = "\(work)/manifest.json"
    let before = try journal(run)
    XCTAssertEqual(before.keys.sorted(), ["segment-000001.log"])
    let again = try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "tiles"])
    XCTAssertEqual(FaultHarness.tileLines(again.stdout), [])
    XCTAssertEqual(try journal(run), before, "a run with every tile journaled wrote to the journal")
    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertEqual(try journal(run), before, "a repair that found nothing wrote to the journal: \(repair.stdout)")
    XCTAssertTrue(try CLIHarness.succeed(["status", run]).stdout.contains("tiles:    3/3"))
    // A shard's first session writes its header (status shows the shard), a second one nothing.
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--shard", "1/2", "--progress", "none"])
    let sharded = try journal(run)
    XCTAssertEqual(sharded.count, 2)
    let shardSegment = try XCTUnwrap(sharded.keys.first { $0.hasPrefix("segment-000002.shard-1-of-2.") }, "\(sharded.keys)")
    XCTAssertEqual(try FaultHarness.frames(of: "\(run)/journal/\(shardSegment)").count, 1, "the header alone")
    XCTAssertTrue(try CLIHarness.succeed(["status", run]).stdout.contains("shards:   2: 1 complete"))
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--shard", "1/2", "--progress", "none"])
    XCTAssertEqual(try journal(run), sharded, "a shard run again with every tile journaled wrote to the journal")

    // Something to record: repair's drop and run's tile each come in a segment of their own.
    let hash = try XCTUnwrap(FaultHarness.journaledObjects(run)[1])
    let object = FaultHarness.objectPath(run, hash)
    try flipByte(atPath: object, offset: try FileBytes.read(path: object).count / 2)
    try CLIHarness.succeed(["repair", run])
    XCTAssertEqual(try journal(run).keys.sorted(), ["segment-000001.log", shardSegment, "segment-000003.log"])
    let recompute = try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "tiles"])
    XCTAssertEqual(FaultHarness.tileLines(recompute.stdout), [1])
    XCTAssertEqual(try journal(run).keys.sorted(), ["segment-000001.log", shardSegment, "segment-000003.log", "segment-000004.log"])
    XCTAssertEqual(try CLIHarness.run(["verify", run]).status, 0)
  }

  // MARK: 5. Per-shard counts after repair

  /// A shard's count is the tiles of its range journaled by anyone, from the replayed journal: a
  /// record `repair` withdrew (a conflict) is gone from its segment and not counted, a tile it
  /// dropped (damaged object) is not counted either. (Regression test: the counts were already so.)
  func testPerShardCountsAfterRepairWithdrawsOrDropsRecords() throws {
    let manifest = try FaultHarness.npyManifest(in: work, samples: 30, tileSamples: 6)  // 5 blocks, 15 tiles
    let run = "\(work)/run"
    for shard in ["0/2", "1/2"] { try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--shard", shard, "--progress", "none"]) }
    func shardLines() throws -> [String] {
      try CLIHarness.succeed(["status", run]).stdout.split(separator: "\n").filter { $0.hasPrefix("  shard ") }
        .map { String($0.prefix { $0 != "," }) + ($0.hasSuffix("complete") ? " complete" : $0.hasSuffix("unfinished") ? " unfinished" : " ?") }
    }
    XCTAssertEqual(try shardLines(), ["  shard 0/2: 7/7 tiles complete", "  shard 1/2: 8/8 tiles complete"])

    // A later session of shard 0 journaled tile 0 again with another object; repair withdraws it.
    let original = try XCTUnwrap(try FaultHarness.segments(of: run).first { $0.contains(".shard-0-of-2.") })
    let bytes = try FileBytes.read(path: original)
    let frames = try FaultHarness.frames(of: original)
    let header = Array(bytes[frames[0].offset..<(frames[0].offset + frames[0].length)])
    let payload = String(decoding: bytes[(frames[1].offset + 36)..<(frames[1].offset + frames[1].length)], as: UTF8.self)
    let object = try XCTUnwrap(FaultHarness.journaledObjects(run)[0])
    XCTAssertTrue(payload.contains(object), payload)
    let otherBytes = Array("another computation of tile 0".utf8)
    let other = ContentHash.sha256(otherBytes).hex
    try CLIHarness.writeText("another computation of tile 0", to: FaultHarness.objectPath(run, other))
    let changed = Array(payload.replacingOccurrences(of: object, with: other).utf8)
    let length = UInt32(changed.count)
    let frame = [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)]
      + ContentHash.sha256(changed).digestBytes + changed
    let later = original.replacingOccurrences(of: #"\.[0-9a-f]{8}\.log$"#, with: ".ffffffff.log", options: .regularExpression)
    try Data(header + frame).write(to: URL(fileURLWithPath: later))
    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("WITHDREW tile 0's record"), repair.stdout)
    XCTAssertEqual(try shardLines(), ["  shard 0/2: 7/7 tiles complete", "  shard 1/2: 8/8 tiles complete"],
                   "the kept earliest record journals tile 0")

    // A damaged object of shard 1's range: repair drops the tile, the shard counts one less.
    let tiles = try FaultHarness.journaledObjects(run)
    let path = FaultHarness.objectPath(run, try XCTUnwrap(tiles[14]))
    try flipByte(atPath: path, offset: try FileBytes.read(path: path).count / 2)
    try CLIHarness.succeed(["repair", run])
    XCTAssertEqual(try shardLines(), ["  shard 0/2: 7/7 tiles complete", "  shard 1/2: 7/8 tiles unfinished"])
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--shard", "1/2", "--progress", "none"])
    XCTAssertEqual(try shardLines(), ["  shard 0/2: 7/7 tiles complete", "  shard 1/2: 8/8 tiles complete"])
  }

  // MARK: 6. Two assembles of one new output at once

  func testTwoAssemblesOfOneNewOutputAtOnceOneWinsTheOtherIsRefused() throws {
    let manifest = try FaultHarness.npyManifest(in: work, samples: 100, tileSamples: 20)
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    // A Zarr array of 2,500 chunk files: each assemble takes a second or more, so the two overlap.
    let output = "\(work)/g.zarr"
    let arguments = ["assemble", run, "--output", output, "--chunk", "20", "--progress", "none"]
    var processes: [Process] = []
    for k in 0..<2 {
      let logs = "\(work)/logs-\(k)"
      try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
      processes.append(try CLIHarness.start(arguments, logDirectory: logs))
    }
    for process in processes { process.waitUntilExit() }
    let statuses = processes.map(\.terminationStatus)
    XCTAssertEqual(statuses.sorted(), [0, 2], "exactly one publishes the new output")
    if let loser = statuses.firstIndex(of: 2) {
      let stderr = try String(contentsOfFile: "\(work)/logs-\(loser)/stderr.log", encoding: .utf8)
      XCTAssertEqual(stderr, "ntkbatch: error: \(output): created by another process while this one was writing it (it did not exist when this one started); not replaced\n")
    }
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work).filter { $0.contains(".tmp-") }, [])
    // RUN/outputs.json records the array that is there: assembling again replaces it without --overwrite.
    try CLIHarness.succeed(arguments)
  }

  // MARK: 7. check and run: one memory model

  func testCheckAndRunAgreeOnWhatATileNeedsNearTheBudget() throws {
    // LeNet on 1,000 digits in tiles of 200: whole blocks need about 3 times less than layer streaming.
    func manifest(budget: Int) throws -> String {
      try CLIHarness.writeManifest([
        "name": "near-budget",
        "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 1000],
        "model": ["name": "lenet"],
        "ntk": ["precision": "float32", "tileSamples": 200, "memoryBudget": budget],
      ], in: work, name: "budget-\(budget)")
    }
    func mebibytes(after prefix: String, in text: String) -> Int? {
      guard let range = text.range(of: prefix) else { return nil }
      return Int(text[range.upperBound...].prefix { $0.isNumber })
    }
    let planned = try CLIHarness.succeed(["check", try manifest(budget: 2 << 30)])
    XCTAssertTrue(planned.stdout.contains("budget 2048 MiB, whole-blocks, estimated peak "), planned.stdout)
    let peak = try XCTUnwrap(mebibytes(after: "estimated peak ", in: planned.stdout), planned.stdout)
    // 30 MiB below that peak: both refuse, naming about the peak check planned (not layer streaming's).
    let tight = try manifest(budget: (peak - 30) << 20)
    for arguments in [["check", tight], ["run", tight, "--run-dir", "\(work)/run", "--progress", "none", "--max-tiles", "1"]] {
      let result = try CLIHarness.run(arguments)
      XCTAssertEqual(result.status, 2, "\(arguments[0]): \(result.stdout) \(result.stderr)")
      XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
      XCTAssertTrue(result.stderr.contains("ntk.tileSamples 200 needs about "), result.stderr)
      XCTAssertTrue(result.stderr.contains(" MiB (estimated peak with whole-blocks, including "), result.stderr)
      XCTAssertTrue(result.stderr.contains("over the budget of \(peak - 30) MiB (ntk.memoryBudget)"), result.stderr)
      let needed = try XCTUnwrap(mebibytes(after: "needs about ", in: result.stderr), result.stderr)
      XCTAssertLessThanOrEqual(abs(needed - peak), 10, "\(arguments[0]) needs \(needed) MiB, check planned \(peak) MiB")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/run/journal"), "a refused run computes nothing")
  }

  /// `tileSamples: "auto"` resumes with the tile size the run directory records; when a smaller
  /// budget cannot hold it, the refusal says where the size comes from and what helps (a larger
  /// budget, another run directory), not "use \"auto\"" (tester-s9).
  func testAResumedAutoRunOverItsBudgetNamesTheRecordedTileSize() throws {
    func manifest(mebibytes: Int) throws -> String {
      try CLIHarness.writeManifest([
        "name": "auto-resume",
        "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 1000],
        "model": ["name": "lenet"],
        "ntk": ["precision": "float32", "tileSamples": "auto", "memoryBudget": mebibytes << 20],
      ], in: work, name: "auto-\(mebibytes)")
    }
    let first = try CLIHarness.succeed(["run", try manifest(mebibytes: 300), "--run-dir", "\(work)/run", "--progress", "lines", "--max-tiles", "1"])
    let recorded = try XCTUnwrap(first.stderr.range(of: #"[0-9]+ samples per tile side"#, options: .regularExpression).map { first.stderr[$0] }, first.stderr)
    let t = String(recorded.prefix { $0.isNumber })
    XCTAssertLessThan(Int(t)!, 1000, "a budget of 300 MiB plans tiles smaller than the 1,000 digits")
    let objects = try FaultHarness.journaledObjects("\(work)/run")
    let refused = try CLIHarness.run(["run", try manifest(mebibytes: 150), "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertEqual(refused.status, 2, refused.stderr)
    XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
    XCTAssertTrue(refused.stderr.contains("ntk.tileSamples \"auto\": this run directory keeps its recorded tiles of \(t) samples a side, which need about "), refused.stderr)
    XCTAssertTrue(refused.stderr.hasSuffix("(ntk.memoryBudget); raise ntk.memoryBudget, or give another --run-dir to start a run whose tiles fit\n"), refused.stderr)
    XCTAssertEqual(try FaultHarness.journaledObjects("\(work)/run"), objects, "nothing computed")
  }
}
