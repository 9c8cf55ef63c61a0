import Foundation
import XCTest

/// Findings of this round's fresh tester (tester-s7), each kept as a test.
final class TesterS7FindingsTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("tester-s7") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  /// A shard stopped by SIGTERM counts its own tiles, as `status --tiles-done --shard K/N` does.
  /// Before, a SIGTERM inside a tile printed `X of T tiles of the run are journaled` with X the
  /// session's view of the whole journal (the other shards' tiles as of its last refresh): neither
  /// the shard's count nor the run's. Shard 0 of 2 runs first, so its tiles are in the journal
  /// when shard 1 starts; shard 1 gets SIGTERM 1.5 s into its first tile (float64 LeNet tiles of
  /// 750 samples a side take several seconds; if the signal lands between two tiles the other
  /// message is checked the same way).
  func testAShardStoppedBySIGTERMReportsItsOwnTiles() throws {
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 1500, tileSamples: 750, precision: "float64")
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--shard", "0/2", "--progress", "none"])
    let shard0 = try CLIHarness.succeed(["status", run, "--tiles-done", "--shard", "0/2"]).stdout
    XCTAssertGreaterThan(Int(shard0.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, 0, shard0)
    let logs = "\(work)/logs"
    try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
    let process = try CLIHarness.start(["run", manifest, "--run-dir", run, "--shard", "1/2", "--progress", "lines"], logDirectory: logs)
    defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
    func stderr() -> String { CLIHarness.log(logs, "stderr") }
    CLIHarness.wait(for: process, interval: 10_000) { stderr().contains("shard 1/2:") }
    XCTAssertTrue(process.isRunning, stderr())
    usleep(1_500_000)
    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 75, stderr())
    let text = stderr()
    let pattern = try NSRegularExpression(pattern: #"([0-9]+) of ([0-9]+) tiles of shard 1/2 \(([0-9]+) tiles\)"#)
    let match = try XCTUnwrap(pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), text)
    func number(_ k: Int) -> Int { Int(text[Range(match.range(at: k), in: text)!])! }
    let done = try CLIHarness.succeed(["status", run, "--tiles-done", "--shard", "1/2"]).stdout
    XCTAssertEqual(number(1), Int(done.trimmingCharacters(in: .whitespacesAndNewlines)), text)
    XCTAssertEqual(number(2), number(3), text)
    XCTAssertFalse(text.contains("tiles of the run are journaled"), text)
  }
}
