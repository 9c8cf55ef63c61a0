import Foundation
import XCTest

/// `run` under a closing terminal or ssh session: SIGHUP stops it resumably like SIGTERM (exit 75,
/// journaled tiles kept), and a closed output pipe (`run … 2>&1 | head -3`, a `tee` that died)
/// does not end it: SIGPIPE is ignored and writes to the closed pipe are dropped.
final class HangupAndClosedPipeTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("hangup") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  func testSIGHUPStopsWithCode75KeepsJournaledTilesAndTheRunResumes() throws {
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 300, tileSamples: 10)
    let logs = "\(work)/session"
    try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
    let process = try CLIHarness.start(["run", manifest, "--run-dir", "\(work)/run", "--progress", "tiles"], logDirectory: logs)
    defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
    func stdout() -> String { CLIHarness.log(logs, "stdout") }
    let deadline = Date().addingTimeInterval(60)
    while process.isRunning, Date() < deadline, FaultHarness.tileLines(stdout()).count < 3 { usleep(2_000) }
    XCTAssertTrue(process.isRunning, "the run ended before the test could send SIGHUP")
    let sent = Date()
    kill(process.processIdentifier, SIGHUP)
    while process.isRunning, Date().timeIntervalSince(sent) < 30 { usleep(1_000) }
    XCTAssertFalse(process.isRunning, "still running 30 s after SIGHUP")
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    let stderr = try String(contentsOfFile: logs + "/stderr.log", encoding: .utf8)
    XCTAssertEqual(process.terminationReason, .exit, "died of a signal: \(stderr)")
    XCTAssertEqual(process.terminationStatus, 75, stderr)
    XCTAssertTrue(stderr.contains("SIGHUP received: abandoning the tile in progress and stopping (resumable; journaled tiles are kept)"), stderr)
    // Every reported tile is journaled, nothing more.
    let tiles = FaultHarness.tileLines(stdout())
    XCTAssertGreaterThanOrEqual(tiles.count, 3)
    XCTAssertEqual(tiles, Array(0..<tiles.count))
    XCTAssertEqual(Set(try FaultHarness.journaledObjects("\(work)/run").keys), Set(tiles))
    try CLIHarness.succeed(["verify", "\(work)/run"])
    let resumed = try FaultHarness.run(["run", manifest, "--run-dir", "\(work)/run", "--progress", "tiles", "--max-tiles", "2"])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertEqual(FaultHarness.tileLines(resumed.stdout), [tiles.count, tiles.count + 1])
  }

  func testClosedOutputPipeDoesNotEndTheRun() throws {
    // 20 blocks of 10 digits: 210 tiles, far more output than `head -3` reads (and than a pipe
    // buffer holds), so the run writes to the closed pipe many times.
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 200, tileSamples: 10)
    let script = """
      "$0" run "$1" --run-dir "$2" --progress tiles 2>&1 | head -3 > "$3/head.txt"
      echo "${PIPESTATUS[0]}" > "$3/status.txt"
      """
    let shell = Process()
    shell.executableURL = URL(fileURLWithPath: "/bin/bash")
    shell.arguments = ["-c", script, CLIHarness.binary.path, manifest, "\(work)/run", work]
    var env = ProcessInfo.processInfo.environment
    env["OPENBLAS_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] ?? "2"
    shell.environment = env
    try shell.run()
    let deadline = Date().addingTimeInterval(300)
    while shell.isRunning, Date() < deadline { usleep(10_000) }
    if shell.isRunning { shell.terminate() }
    shell.waitUntilExit()
    let status = try String(contentsOfFile: "\(work)/status.txt", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    let head = try String(contentsOfFile: "\(work)/head.txt", encoding: .utf8)
    XCTAssertEqual(head.split(separator: "\n").count, 3, head)
    XCTAssertEqual(status, "0", "ntkbatch run ended with \(status) (141 = killed by SIGPIPE) once `head` closed its output")
    // The run went on to the end: all 210 tiles journaled and intact.
    XCTAssertEqual(try FaultHarness.journaledObjects("\(work)/run").count, 210)
    let verify = try CLIHarness.succeed(["verify", "\(work)/run"])
    XCTAssertTrue(verify.stdout.contains("210 of 210 journaled tiles intact"), verify.stdout)
  }
}
