import Foundation
import Storage
import XCTest

/// `verify` and `repair` report their object check on stderr (tester-s5 finding #11): objects
/// checked of the total, GB, GB/s and ETA (`--progress auto|bar|lines|none`, as `assemble`), and
/// their stdout, which scripts parse, is byte-identical whatever the progress mode.
final class CheckProgressCLITests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("check-progress") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  func testVerifyAndRepairPrintProgressLinesOnStderrAndTheSameStdout() throws {
    // LeNet on 24 samples in tiles of 6: 4 × 5 / 2 = 10 tiles.
    let manifest = try FaultHarness.npyManifest(in: work, samples: 24, tileSamples: 6)
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    let status = try XCTUnwrap(try JSONSerialization.jsonObject(
      with: Data(try CLIHarness.succeed(["status", run, "--json"]).stdout.utf8)) as? [String: Any])
    XCTAssertEqual(status["tilesDone"] as? Int, 10)
    let storedBytes = try XCTUnwrap(status["storedBytes"] as? Int)

    for command in ["verify", "repair"] {
      let quiet = try CLIHarness.succeed([command, run, "--progress", "none"])
      let lines = try CLIHarness.succeed([command, run, "--progress", "lines"])
      XCTAssertEqual(Array(lines.stdout.utf8), Array(quiet.stdout.utf8), "\(command): stdout depends on --progress")
      XCTAssertFalse(quiet.stdout.isEmpty)
      XCTAssertEqual(quiet.stderr, "", "\(command) --progress none wrote to stderr")
      let progress = lines.stderr.split(separator: "\n").map(String.init)
      // A first line before any object is read (the totals), a last one when all are checked
      // (a line every 30 s between them: none in a run this short).
      XCTAssertEqual(progress.count, 2, lines.stderr)
      XCTAssertEqual(progress.first, "\(command): 0/10 objects checked (0%), 0.00 of \(String(format: "%.2f", Double(storedBytes) / 1e9)) GB")
      let last = try XCTUnwrap(progress.last)
      XCTAssertTrue(last.hasPrefix("\(command): 10/10 objects checked, \(String(format: "%.2f", Double(storedBytes) / 1e9)) GB in 00:00:0"), last)
      XCTAssertTrue(last.hasSuffix(" GB/s)"), last)
    }
    // The default off a terminal: lines from 30 s on, so a check this short prints none.
    for command in ["verify", "repair"] {
      let auto = try CLIHarness.succeed([command, run])
      XCTAssertEqual(auto.stderr, "", command)
      XCTAssertEqual(auto.stdout, try CLIHarness.succeed([command, run, "--progress", "none"]).stdout)
    }
  }
}
