import Engine
import Foundation
import XCTest

/// The findings of fresh tester s12 (README and binary only, 0.9.0): the advice of a memory
/// refusal where the smallest tile or the narrowest model already exceeds the budget, the
/// values of integers beyond `Int`'s range and of fractional byte counts, and a manifest file
/// whose own name starts like a field.
final class TesterS12FindingsTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("tester-s12") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  private func manifest(model: [String: Any], ntk: [String: Any], name: String = "manifest") throws -> String {
    try CLIHarness.writeManifest([
      "name": "s12",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 4],
      "model": model, "ntk": ntk,
    ], in: work, name: name)
  }

  private func refusal(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let result = try CLIHarness.run(arguments)
    XCTAssertEqual(result.status, 2, result.stderr, file: file, line: line)
    XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr, file: file, line: line)
    return result.stderr
  }

  /// #1: `tileSamples` 1 over the budget cannot be helped by a smaller tile or "auto" (the
  /// smallest tile is one sample a side): the advice is to raise the budget, as "auto"'s own
  /// refusal now says too. A budget below even the narrowest model's weights says so too,
  /// instead of "use a smaller model.width".
  func testTheSmallestTileAndTheNarrowestModelOverTheBudgetAdviseARaise() throws {
    // 80 MiB: above resnet18 width 16's weights and gradient (float64, 11 MB), below one tile
    // plus the process's own base (64 MiB + its resident size).
    let budget = 80 << 20
    let one = try manifest(model: ["name": "resnet18", "width": 16], ntk: ["precision": "float64", "tileSamples": 1, "memoryBudget": budget])
    for command in [["check", one], ["run", one, "--run-dir", "\(work)/run", "--progress", "none"]] {
      let stderr = try refusal(command)
      XCTAssertTrue(stderr.contains("ntk.tileSamples 1 needs about"), stderr)
      XCTAssertTrue(stderr.hasSuffix("(ntk.memoryBudget); one sample a side is the smallest tile: raise ntk.memoryBudget\n"), stderr)
    }
    let auto = try manifest(model: ["name": "resnet18", "width": 16], ntk: ["precision": "float64", "tileSamples": "auto", "memoryBudget": budget], name: "auto")
    let stderr = try refusal(["check", auto])
    XCTAssertTrue(stderr.contains("the smallest tile (one sample a side) needs about"), stderr)
    XCTAssertTrue(stderr.hasSuffix("(ntk.memoryBudget); raise ntk.memoryBudget\n"), stderr)

    let tiny = try manifest(model: ["name": "resnet18", "width": 16], ntk: ["memoryBudget": 1], name: "tiny")
    let weights = try refusal(["check", tiny])
    XCTAssertTrue(weights.contains(": model.width: resnet18 at width 16 has P = 701466 parameters"), weights)
    // Width 1's weights and gradient (float32), in bytes below 1 MiB as every need is written.
    let narrowest = try ModelZoo.size(name: "resnet18", width: 1)
    let bytes = narrowest.stateBytes(Float.self) + narrowest.parameterCount * 4
    XCTAssertTrue(weights.hasSuffix("; raise ntk.memoryBudget (even width 1 needs \(MemorySizeText.need(bytes)))\n"), weights)
    XCTAssertFalse(weights.contains("use a smaller model.width"), weights)
  }

  /// #2: an integer beyond `Int`'s range is named as such (not printed as 9.2e+18), and a
  /// fractional byte count is told that an integer is expected.
  func testOutOfRangeIntegersAndFractionalBytesAreNamedAsSuch() throws {
    try CLIHarness.writeText(
      #"{"name": "s", "dataset": {"name": "mnist", "root": "r"}, "model": {"name": "lenet", "seed": 9223372036854775808}}"#,
      to: "\(work)/seed.json")
    var stderr = try refusal(["check", "\(work)/seed.json"])
    XCTAssertEqual(stderr, "ntkbatch: error: \(work)/seed.json: model.seed: expected a non-negative integer, found an integer above 9223372036854775807\n")
    try CLIHarness.writeText(
      #"{"name": "s", "dataset": {"name": "mnist", "root": "r"}, "model": {"name": "lenet"}, "ntk": {"memoryBudget": 400000000.5}}"#,
      to: "\(work)/budget.json")
    stderr = try refusal(["check", "\(work)/budget.json"])
    XCTAssertEqual(stderr, "ntkbatch: error: \(work)/budget.json: ntk.memoryBudget: expected a positive integer number of bytes or \"auto\", found 400000000.5\n")
  }

  /// #3: a manifest named like a field's section (`model.json`), given by its bare name from its
  /// own folder, is named once in the error, not twice.
  func testAManifestNamedLikeAFieldIsNamedOnce() throws {
    try CLIHarness.writeText(#"{"name": "s", "dataset": {"name": "mnist", "root": "r"}, "model": {"name": "resnet"}}"#, to: "\(work)/model.json")
    let process = Process()
    process.executableURL = CLIHarness.binary
    process.arguments = ["check", "model.json"]
    process.currentDirectoryURL = URL(fileURLWithPath: work)
    let result = try CLIHarness.capture(process)
    XCTAssertEqual(result.status, 2, result.stderr)
    XCTAssertTrue(result.stderr.hasPrefix("ntkbatch: error: model.json: model.name: expected one of "), result.stderr)
  }
}
