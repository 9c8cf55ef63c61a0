import Foundation
import XCTest

/// SIGTERM in the middle of a long tile: `run` abandons the tile (nothing of it journaled) and
/// exits 75 within 10 s, whatever the tile size; the next run computes the tile from scratch.
final class PreemptionTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("preempt") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  func testSIGTERMDuringAThirtySecondTileExits75InUnderTenSeconds() throws {
    // LeNet, float64, one diagonal tile of 1,500 samples a side: a [15000, 15000] tile, about
    // 15000²·2,872 ≈ 6.5e11 FLOP of DSYRK on the convolution parts alone, most of it inside single
    // BLAS calls (the whole tile took 123 s on the 2-core development machine under load; peak
    // resident memory 4 GB).
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 1500, tileSamples: 1500, precision: "float64")
    let logs = "\(work)/logs"
    try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
    let process = try CLIHarness.start(["run", manifest, "--run-dir", "\(work)/run", "--progress", "lines"], logDirectory: logs)
    defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
    // The announce line comes right before the first tile starts.
    func stderr() -> String { CLIHarness.log(logs, "stderr") }
    CLIHarness.wait(for: process, interval: 10_000) { stderr().contains("eNTK in 1 tile of") }
    XCTAssertTrue(process.isRunning, stderr())
    let tileStart = Date()
    usleep(3_000_000)  // well into the tile
    XCTAssertTrue(process.isRunning, "the tile ended within 3 s; it should take far longer")
    let sent = Date()
    kill(process.processIdentifier, SIGTERM)
    while process.isRunning, Date().timeIntervalSince(sent) < 30 { usleep(5_000) }
    let latency = Date().timeIntervalSince(sent)
    XCTAssertFalse(process.isRunning, "still running 30 s after SIGTERM")
    process.waitUntilExit()
    XCTAssertEqual(process.terminationReason, .exit)
    XCTAssertEqual(process.terminationStatus, 75, stderr())
    XCTAssertLessThan(latency, 10, "exit 75 within 10 s of SIGTERM; took \(latency) s")
    XCTAssertTrue(stderr().contains("SIGTERM received: abandoning the tile in progress"), stderr())
    print("SIGTERM \(String(format: "%.1f", Date().timeIntervalSince(tileStart) - latency)) s into the tile: exit 75 after \(String(format: "%.2f", latency)) s")
    // Nothing of the abandoned tile is journaled or stored.
    XCTAssertEqual(try FaultHarness.journaledObjects("\(work)/run"), [:])
    let verify = try CLIHarness.succeed(["verify", "\(work)/run"])
    XCTAssertTrue(verify.stdout.contains("0 of 0 journaled tiles intact; 1 tile not computed yet"), verify.stdout)
    XCTAssertEqual(((try? FileManager.default.subpathsOfDirectory(atPath: "\(work)/run/objects")) ?? []).filter { !$0.contains("/") && $0.count > 2 }.count, 0)
  }
}
