import Foundation
import XCTest

/// What `ntkbatch slurm` checks before writing its scripts: the run directory (refused exactly
/// when `run` would refuse it for that manifest, nothing touched), `--mem` against the memory
/// model, and `%` in paths written into `#SBATCH --output` patterns.
final class SlurmCommandChecksTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("slurm-checks") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  private func manifest(name: String, subsample: Int, tileSamples: Int, memoryBudget: Int? = nil) throws -> String {
    var ntk: [String: Any] = ["precision": "float32", "normalization": "sqrt-params", "tileSamples": tileSamples]
    if let memoryBudget { ntk["memoryBudget"] = memoryBudget }
    return try CLIHarness.writeManifest([
      "name": name,
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": subsample],
      "model": ["name": "lenet", "seed": 0],
      "ntk": ntk,
    ], in: work, name: name)
  }

  func testRunDirectoryOfAnotherManifestOrNotARunIsRefusedAndLeftUntouched() throws {
    let a = try manifest(name: "a", subsample: 30, tileSamples: 10)
    let b = try manifest(name: "b", subsample: 40, tileSamples: 20)
    let runB = "\(work)/runs/b"
    try CLIHarness.succeed(["run", b, "--run-dir", runB, "--progress", "none"])
    try CLIHarness.succeed(["slurm", b, "--array", "2", "--time", "1:00:00", "--run-dir", runB])
    // Another manifest's run directory: `run` refuses it, and so does `slurm`, naming it and why.
    let run = try CLIHarness.run(["run", a, "--run-dir", runB, "--progress", "none"])
    XCTAssertEqual(run.status, 2, run.stderr)
    let before = try CLIHarness.fileTree(runB)
    XCTAssertNotNil(before["slurm/shards.sbatch"])
    let slurm = try CLIHarness.run(["slurm", a, "--array", "2", "--time", "1:00:00", "--run-dir", runB])
    XCTAssertEqual(slurm.status, 2, slurm.stderr)
    XCTAssertEqual(slurm.stderr.split(separator: "\n").count, 1, slurm.stderr)
    XCTAssertTrue(slurm.stderr.contains("\(runB): this run directory holds another computation; refusing to resume: different manifest hash"), slurm.stderr)
    XCTAssertTrue(slurm.stderr.contains("first differing field dataset.subsample"), slurm.stderr)
    XCTAssertEqual(slurm.stdout, "")
    let after = try CLIHarness.fileTree(runB)
    let changed = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
    XCTAssertEqual(changed, [], "the refused slurm changed the run directory")

    // A folder of the user's that is not a run directory: refused as `run` refuses it, no slurm/ created.
    let notRun = "\(work)/notrun"
    try CLIHarness.writeText("hi\n", to: "\(notRun)/x")
    XCTAssertEqual(try CLIHarness.run(["run", a, "--run-dir", notRun, "--progress", "none"]).status, 2)
    let foreign = try CLIHarness.run(["slurm", a, "--array", "2", "--time", "1:00:00", "--run-dir", notRun])
    XCTAssertEqual(foreign.status, 2, foreign.stderr)
    XCTAssertEqual(foreign.stderr.split(separator: "\n").count, 1, foreign.stderr)
    XCTAssertTrue(foreign.stderr.contains("\(notRun): exists, is not empty (x) and is not a run directory"), foreign.stderr)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: notRun), ["x"])

    // What `run` accepts, `slurm` accepts: the run's own manifest, a new directory, an empty one.
    try CLIHarness.succeed(["slurm", b, "--array", "2", "--time", "1:00:00", "--run-dir", runB])
    try CLIHarness.succeed(["slurm", a, "--array", "2", "--time", "1:00:00", "--run-dir", "\(work)/runs/new"])
    try FileManager.default.createDirectory(atPath: "\(work)/empty", withIntermediateDirectories: true)
    try CLIHarness.succeed(["slurm", a, "--array", "2", "--time", "1:00:00", "--run-dir", "\(work)/empty"])
  }

  func testMemTooSmallForThePlanIsRefusedNamingTheNeededMemory() throws {
    // LeNet on 200 digits in one tile of 200 a side: several hundred MiB per task.
    let big = try manifest(name: "big", subsample: 200, tileSamples: 200)
    let small = try CLIHarness.run(["slurm", big, "--array", "1", "--time", "1:00:00", "--mem", "100M", "--run-dir", "\(work)/runs/big"])
    XCTAssertEqual(small.status, 2, small.stderr)
    XCTAssertEqual(small.stderr.split(separator: "\n").count, 1, small.stderr)
    XCTAssertTrue(small.stderr.contains("--mem 100M: ntk.tileSamples 200 of \(big) needs about "), small.stderr)
    XCTAssertTrue(small.stderr.contains("over each task's budget of 75 MiB (ntk.memoryBudget \"auto\": 3/4 of --mem)"), small.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/runs/big/slurm"), "scripts written although refused")
    // The numbers: what a tile needs, and the --mem that holds it.
    let text = small.stderr
    func number(after marker: String, in text: String) -> Int? {
      text.components(separatedBy: marker).dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) }
    }
    let needed = try XCTUnwrap(number(after: "needs about ", in: text), text)
    let suggested = try XCTUnwrap(number(after: "give --mem ", in: text), text)
    XCTAssertGreaterThan(needed, 75)
    // The suggestion holds the need plus a margin for the resident size measured again (8 MiB).
    XCTAssertEqual(Double(suggested), Double(needed + 8) * 4 / 3, accuracy: 2)
    // `run` with the budget a 100M task would have refuses the same tile for the same reason.
    let starved = try manifest(name: "starved", subsample: 200, tileSamples: 200, memoryBudget: 75 << 20)
    let refused = try CLIHarness.run(["run", starved, "--run-dir", "\(work)/runs/starved", "--progress", "none"])
    XCTAssertEqual(refused.status, 2, refused.stderr)
    XCTAssertTrue(refused.stderr.contains("ntk.tileSamples 200 needs about"), refused.stderr)
    let runNeeds = try XCTUnwrap(number(after: "needs about ", in: refused.stderr), refused.stderr)
    XCTAssertEqual(Double(runNeeds), Double(needed), accuracy: Double(needed) * 0.1, "slurm and run estimate the same tile differently")
    // The suggested --mem is accepted.
    try CLIHarness.succeed(["slurm", big, "--array", "1", "--time", "1:00:00", "--mem", "\(suggested)M", "--run-dir", "\(work)/runs/big"])
    // A fixed ntk.memoryBudget above --mem: tasks would plan for memory Slurm does not give them.
    let fixed = try manifest(name: "fixed", subsample: 30, tileSamples: 10, memoryBudget: 2 << 30)
    let over = try CLIHarness.run(["slurm", fixed, "--array", "2", "--mem", "1G", "--run-dir", "\(work)/runs/fixed"])
    XCTAssertEqual(over.status, 2, over.stderr)
    XCTAssertTrue(over.stderr.contains("--mem 1G: below ntk.memoryBudget (2048 MiB) of \(fixed)"), over.stderr)
    XCTAssertTrue(over.stderr.contains("give --mem 2048M or more"), over.stderr)
    try CLIHarness.succeed(["slurm", fixed, "--array", "2", "--mem", "2G", "--run-dir", "\(work)/runs/fixed"])
  }

  func testPercentInTheRunDirectoryIsEscapedInOutputPatterns() throws {
    let a = try manifest(name: "a", subsample: 30, tileSamples: 10)
    let run = "\(work)/runs/r%j_%a"
    try CLIHarness.succeed(["slurm", a, "--array", "2", "--time", "1:00:00", "--run-dir", run])
    let shards = try String(contentsOfFile: "\(run)/slurm/shards.sbatch", encoding: .utf8)
    let finish = try String(contentsOfFile: "\(run)/slurm/finish.sbatch", encoding: .utf8)
    XCTAssertTrue(shards.contains("#SBATCH --output=\(work)/runs/r%%j_%%a/slurm/logs/shard-%a.log\n"), shards)
    XCTAssertTrue(finish.contains("#SBATCH --output=\(work)/runs/r%%j_%%a/slurm/logs/finish.log\n"), finish)
    // In the commands (shell words, not patterns) the path stays as it is.
    XCTAssertTrue(shards.contains("--run-dir '\(run)'"), shards)
    // Every other #SBATCH line holds no unescaped % but the array index of the log name.
    for line in (shards + finish).split(separator: "\n") where line.hasPrefix("#SBATCH") && !line.hasPrefix("#SBATCH --output") {
      XCTAssertFalse(line.contains("%"), String(line))
    }
    // A backslash turns Slurm's pattern replacement off (the log name's %a too): refused.
    let backslash = try CLIHarness.run(["slurm", a, "--array", "2", "--run-dir", "\(work)/runs/r\\x"])
    XCTAssertEqual(backslash.status, 2, backslash.stderr)
    XCTAssertTrue(backslash.stderr.contains("Slurm scripts need paths without white space, quotes or backslashes"), backslash.stderr)
  }
}
