import Foundation
import Storage
import XCTest

/// Ctrl-C (SIGINT) or SIGTERM during `assemble`: the temporary output (a preallocated full-size
/// `.npy`, or a Zarr directory) is removed before `assemble` exits 75, and an earlier output of
/// the same path is left as it was.
final class AssembleSignalTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("assemble-signal") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  /// Starts `arguments` until a signal lands while the temporary output exists and the process
  /// then exits 75 (an attempt whose assemble committed before the signal is repeated); returns
  /// that attempt's stderr and the temporary's name.
  private func interruptMidAssemble(_ arguments: [String], signal: Int32, temporaryPrefix: String) throws -> (stderr: String, temporary: String)? {
    for _ in 0..<20 {
      let logs = try CLIHarness.temporaryDirectory("signal-assemble")
      defer { try? FileManager.default.removeItem(atPath: logs) }
      let process = try CLIHarness.start(arguments, logDirectory: logs)
      var temporary: String?
      while process.isRunning && temporary == nil {
        temporary = try FileManager.default.contentsOfDirectory(atPath: work).first { $0.hasPrefix(temporaryPrefix) }
        if temporary == nil { usleep(200) }
      }
      kill(process.processIdentifier, signal)
      let sent = Date()
      while process.isRunning, Date().timeIntervalSince(sent) < 30 { usleep(1_000) }
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
      process.waitUntilExit()
      let stderr = CLIHarness.log(logs, "stderr")
      XCTAssertEqual(process.terminationReason, .exit, "died of signal \(signal): \(stderr)")
      if process.terminationStatus == 0 { continue }  // committed before the signal
      XCTAssertEqual(process.terminationStatus, 75, stderr)
      guard let temporary else { XCTFail("no temporary seen: \(stderr)"); return nil }
      return (stderr, temporary)
    }
    XCTFail("could not interrupt assemble while it was writing (20 attempts)")
    return nil
  }

  func testSIGINTAndSIGTERMDuringAssembleRemoveTheTemporaryOutputAndExit75() throws {
    let manifest = try FaultHarness.npyManifest(in: work, samples: 200, tileSamples: 20)
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    for output in ["g.npy", "g.zarr"] {
      let arguments = ["assemble", run, "--dtype", "float64", "--output", "\(work)/\(output)", "--progress", "none"]
      for (attempt, signal) in [SIGINT, SIGTERM].enumerated() {
        // First a fresh output path, then over the complete output of an earlier assemble.
        if attempt == 1 { try CLIHarness.succeed(arguments) }
        let before = attempt == 1 ? try CLIHarness.fileTree("\(work)").filter { $0.key.hasPrefix(output) } : [:]
        guard let stopped = try interruptMidAssemble(arguments, signal: signal, temporaryPrefix: ".\(output).tmp-") else { continue }
        let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
        XCTAssertTrue(stopped.stderr.contains("\(name) received: stopping the assemble and removing its temporary output"), stopped.stderr)
        XCTAssertTrue(stopped.stderr.contains("removed \(work)/\(stopped.temporary)"), stopped.stderr)
        XCTAssertTrue(stopped.stderr.contains("assemble stopped by \(name); \(work)/\(output) is left as it was"), stopped.stderr)
        // Nothing temporary is left: not the output's, not the run's record of the assemble.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work).filter { $0.contains(".tmp-") }, [])
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: "\(run)/assembling")) ?? [], [])
        if attempt == 0 {
          XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/\(output)"), "a stopped assemble published \(output)")
        } else {
          XCTAssertEqual(try CLIHarness.fileTree("\(work)").filter { $0.key.hasPrefix(output) }, before, "the earlier \(output) changed")
        }
      }
    }
  }
}
