import Foundation
import XCTest

/// `ntk.memoryBudget` bounds the resident memory of `run`; `tileSamples: "auto"` resolves to the
/// largest tile that fits and is pinned by the run directory; a budget too small fails at once.
final class MemoryBudgetTests: XCTestCase {
  /// Allowance over the budget for what the memory model does not see (see `RunPipeline.fixedOverheadBytes`).
  static let overhead = 64 << 20

  func manifest(in directory: String, model: [String: Any], subsample: Int, budget: Any, tileSamples: Any) throws -> String {
    try CLIHarness.writeManifest([
      "name": "budget",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": subsample],
      "model": model,
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": tileSamples, "memoryBudget": budget],
    ], in: directory)
  }

  func peakResidentBytes(in stderr: String) -> Int? {
    for line in stderr.split(separator: "\n") where line.hasPrefix("peak resident memory: ") {
      return Int(line.dropFirst("peak resident memory: ".count).prefix { $0.isNumber })
    }
    return nil
  }

  func plannedTileSamples(in stderr: String) -> Int? {
    for line in stderr.split(separator: "\n") where line.hasPrefix("memory: ") {
      let words = line.split(separator: " ")
      if let i = words.firstIndex(of: "samples"), i > 0 { return Int(words[i - 1]) }
    }
    return nil
  }

  /// ResNet18 at width 16 (P = 701,466; 28 MB of Jacobian per sample) on 24 images within
  /// 300 MiB: whole blocks of all 24 would need 670 MB, so the plan must bound tiles/streaming;
  /// VmHWM of the child stays under the budget plus the fixed overhead.
  func testPeakResidentMemoryStaysUnderTheBudget() throws {
    let work = try CLIHarness.temporaryDirectory("budget")
    defer { try? FileManager.default.removeItem(atPath: work) }
    let budget = 300 << 20
    let path = try manifest(in: work, model: ["name": "resnet18", "width": 16], subsample: 24, budget: budget, tileSamples: "auto")
    let result = try CLIHarness.succeed(["run", path, "--run-dir", "\(work)/run", "--progress", "lines"])
    let peak = try XCTUnwrap(peakResidentBytes(in: result.stderr), result.stderr)
    XCTAssertLessThanOrEqual(peak, budget + Self.overhead, result.stderr)
    let tileSamples = try XCTUnwrap(plannedTileSamples(in: result.stderr), result.stderr)
    XCTAssertLessThan(tileSamples, 24, "the budget must constrain the tile: \(result.stderr)")
    // --progress lines names the per-layer contraction: layer4's convolutions structured.
    let choice = try XCTUnwrap(result.stderr.split(separator: "\n").first { $0.hasPrefix("contraction (t=\(tileSamples)): structured") },
                               result.stderr)
    let sides = choice.components(separatedBy: "; explicit ")
    XCTAssertEqual(sides.count, 2, String(choice))
    XCTAssertTrue(sides[0].contains("layer4.0.conv1,") && sides.last!.hasPrefix("[conv1,bn1,"), String(choice))
    try CLIHarness.succeed(["verify", "\(work)/run"])

    // "auto" on resume reuses the recorded tile size even with another budget.
    let bigger = try manifest(in: work, model: ["name": "resnet18", "width": 16], subsample: 24, budget: 2 << 30, tileSamples: "auto")
    let again = try CLIHarness.succeed(["run", bigger, "--run-dir", "\(work)/run", "--progress", "lines"])
    XCTAssertEqual(plannedTileSamples(in: again.stderr), tileSamples, again.stderr)
  }

  /// 8 MiB holds resnet18 at width 16's weights and a gradient (P ≈ 0.7 M: 5.6 MB, below which
  /// `WeightsLoader.refuseOverBudget` refuses first), not its smallest tile.
  func testABudgetBelowTheSmallestTileFailsBeforeAnyWork() throws {
    let work = try CLIHarness.temporaryDirectory("budget-small")
    defer { try? FileManager.default.removeItem(atPath: work) }
    let path = try manifest(in: work, model: ["name": "resnet18", "width": 16], subsample: 8, budget: 8 << 20, tileSamples: "auto")
    let result = try CLIHarness.run(["run", path, "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertEqual(result.status, 2, result.stderr)
    XCTAssertTrue(result.stderr.contains("the smallest tile (one sample a side) needs about"), result.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/run"), "no run directory may be created")
  }

  /// A budget too small for the tiles of a run that trains first is refused before the training
  /// (which would end in the same refusal), with nothing written; with a budget that fits, the
  /// same manifest trains and computes its tiles.
  func testABudgetTooSmallForTheTilesIsRefusedBeforeTraining() throws {
    let work = try CLIHarness.temporaryDirectory("budget-train")
    defer { try? FileManager.default.removeItem(atPath: work) }
    func lenet(budget: Int, name: String) throws -> String {
      try FileManager.default.createDirectory(atPath: "\(work)/\(name)", withIntermediateDirectories: true)
      return try manifest(in: "\(work)/\(name)", model: ["name": "lenet", "seed": 0, "train": ["epochs": 1, "batchSize": 10, "samples": 12]],
                          subsample: 12, budget: budget, tileSamples: 6)
    }
    let tight = try CLIHarness.run(["run", try lenet(budget: 1 << 20, name: "tight"), "--run-dir", "\(work)/run", "--progress", "lines"])
    XCTAssertEqual(tight.status, 2, tight.stderr)
    XCTAssertTrue(tight.stderr.contains("ntk.tileSamples 6 needs"), tight.stderr)
    XCTAssertFalse(tight.stderr.contains("epoch"), "refused after training: \(tight.stderr)")
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/run"), "no run directory may be created")

    let roomy = try CLIHarness.succeed(["run", try lenet(budget: 1 << 30, name: "roomy"), "--run-dir", "\(work)/run", "--progress", "lines"])
    XCTAssertTrue(roomy.stderr.contains("epoch"), roomy.stderr)
    try CLIHarness.succeed(["verify", "\(work)/run"])
  }

  /// A budget below the tiles of an existing run directory (tester-s9b M5): another computation's
  /// directory is refused as such first, a run with tiles left is refused for memory, and a run
  /// whose tiles are all journaled — nothing to compute — is not refused at all.
  func testABudgetTooSmallForAnExistingRunComesAfterItsIdentityAndSparesAFinishedRun() throws {
    let work = try CLIHarness.temporaryDirectory("budget-existing")
    defer { try? FileManager.default.removeItem(atPath: work) }
    func lenet(seed: Int, budget: Int, name: String) throws -> String {
      try FileManager.default.createDirectory(atPath: "\(work)/\(name)", withIntermediateDirectories: true)
      return try manifest(in: "\(work)/\(name)", model: ["name": "lenet", "seed": seed], subsample: 12, budget: budget, tileSamples: 6)
    }
    let roomy = try lenet(seed: 0, budget: 1 << 30, name: "roomy")
    let tight = try lenet(seed: 0, budget: 1 << 20, name: "tight")  // holds the weights, not the process
    try CLIHarness.succeed(["run", roomy, "--run-dir", "\(work)/part", "--progress", "none", "--max-tiles", "1"])
    let left = try CLIHarness.run(["run", tight, "--run-dir", "\(work)/part", "--progress", "none"])
    XCTAssertEqual(left.status, 2, left.stderr)
    XCTAssertTrue(left.stderr.contains("ntk.tileSamples 6 needs"), left.stderr)
    // Not "use a smaller tileSamples": that would be another computation (tester-s11 #4).
    XCTAssertTrue(left.stderr.contains("; this run directory's tiles are of 6 samples a side (another tileSamples would be another computation): raise ntk.memoryBudget, or give another --run-dir to start a run whose tiles fit"), left.stderr)

    let other = try CLIHarness.run(["run", try lenet(seed: 1, budget: 1 << 20, name: "other"), "--run-dir", "\(work)/part", "--progress", "none"])
    XCTAssertEqual(other.status, 2, other.stderr)
    XCTAssertTrue(other.stderr.contains("this run directory holds another computation") && other.stderr.contains("model.seed (run has 0, now 1)"), other.stderr)

    try CLIHarness.succeed(["run", roomy, "--run-dir", "\(work)/part", "--progress", "none"])
    let objects = try FaultHarness.journaledObjects("\(work)/part")
    let finished = try CLIHarness.succeed(["run", tight, "--run-dir", "\(work)/part", "--progress", "lines"])
    XCTAssertTrue(finished.stderr.contains("memory: every tile is journaled, nothing to compute: ntk.memoryBudget is not applied (tiles of 6 samples a side would not fit it)"), finished.stderr)
    XCTAssertEqual(try FaultHarness.journaledObjects("\(work)/part"), objects)
    try CLIHarness.succeed(["verify", "\(work)/part"])
    // The budget that was not applied is not recorded either: RUN/manifest.json keeps the roomy
    // one, so a later `run RUN/manifest.json` with tiles to compute is not refused (tester-s13 #1).
    let stored = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(work)/part/manifest.json"))) as? [String: Any]
    XCTAssertEqual((stored?["ntk"] as? [String: Any])?["memoryBudget"] as? Int, 1 << 30)
  }
}
