import Foundation
import Storage
import XCTest
import Engine
import TestSupport

/// One writer per run directory; identity checks (manifest, weights, input data); SIGTERM and
/// SIGINT stop cleanly with exit 75 and the run resumes where it stopped.
final class FaultWritersTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("writers") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, 255)
    return String(cString: buffer)
  }

  /// Starts a long run and waits until it has journaled `tiles` tiles.
  func startLongRun(_ manifest: String, run: String, logs: String, tiles: Int = 1) throws -> Process {
    try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
    let process = try CLIHarness.start(["run", manifest, "--run-dir", run, "--progress", "tiles"], logDirectory: logs)
    let deadline = Date().addingTimeInterval(60)
    while process.isRunning, Date() < deadline,
          FaultHarness.tileLines(CLIHarness.log(logs, "stdout")).count < tiles {
      usleep(2_000)
    }
    XCTAssertTrue(process.isRunning, "the first run ended before the test could use it")
    return process
  }

  func testSecondWriterIsRefusedAtOnceNamingTheHolder() throws {
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 300, tileSamples: 10)
    let first = try startLongRun(manifest, run: "\(work)/run", logs: "\(work)/first")
    defer { if first.isRunning { kill(first.processIdentifier, SIGKILL); first.waitUntilExit() } }

    let second = try FaultHarness.run(["run", manifest, "--run-dir", "\(work)/run", "--progress", "none"], timeout: 30)
    XCTAssertEqual(second.status, 2, second.stderr)
    XCTAssertLessThan(second.seconds, 10, "refused at once, not after waiting")
    XCTAssertEqual(second.stderr.split(separator: "\n").count, 1, second.stderr)
    XCTAssertTrue(second.stderr.contains("pid \(first.processIdentifier) on host \(hostName())"), second.stderr)
    let repair = try FaultHarness.run(["repair", "\(work)/run"], timeout: 30)
    XCTAssertEqual(repair.status, 2, "repair is a writer too: \(repair.stderr)")
    XCTAssertTrue(repair.stderr.contains("pid \(first.processIdentifier)"), repair.stderr)
    let status = try CLIHarness.succeed(["status", "\(work)/run"])
    XCTAssertTrue(status.stdout.contains("writer:   running (pid \(first.processIdentifier) on host"), status.stdout)

    // The holder dies without releasing anything: its lock is free and the next run takes over.
    kill(first.processIdentifier, SIGKILL)
    first.waitUntilExit()
    let done = try FaultHarness.journaledObjects("\(work)/run").count
    let takeover = try FaultHarness.run(["run", manifest, "--run-dir", "\(work)/run", "--progress", "tiles", "--max-tiles", "2"])
    XCTAssertEqual(takeover.status, 0, takeover.stderr)
    XCTAssertEqual(FaultHarness.tileLines(takeover.stdout), [done, done + 1])
    let lock = try String(contentsOfFile: "\(work)/run/lock", encoding: .utf8)
    XCTAssertFalse(lock.hasPrefix("\(first.processIdentifier) "), lock)
  }

  func testChangedManifestWeightsOrInputDataUnderAnExistingRunAreRefused() throws {
    let weights = "\(work)/weights.safetensors"
    try FileManager.default.copyItem(atPath: "\(CLIHarness.fixtures)/lenet-w0/weights.safetensors", toPath: weights)
    let manifest = try FaultHarness.npyManifest(in: work, samples: 20, tileSamples: 10, weights: weights)
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/run", "--progress", "none", "--max-tiles", "1"])
    let journal = try FaultHarness.segments(of: "\(work)/run").map { try FileBytes.read(path: $0) }

    func expectRefusal(_ manifest: String, naming word: String, notNaming other: [String], line: UInt = #line) throws {
      let result = try FaultHarness.run(["run", manifest, "--run-dir", "\(work)/run", "--progress", "none"])
      XCTAssertEqual(result.status, 2, result.stderr, line: line)
      XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr, line: line)
      XCTAssertTrue(result.stderr.contains("refusing to resume") && result.stderr.contains(word), result.stderr, line: line)
      for w in other { XCTAssertFalse(result.stderr.contains(w), result.stderr, line: line) }
      XCTAssertEqual(try FaultHarness.segments(of: "\(work)/run").map { try FileBytes.read(path: $0) }, journal,
                     "a refused run changed the journal", line: line)
    }

    // 1. The manifest: another normalization.
    var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifest))) as? [String: Any])
    var ntk = try XCTUnwrap(object["ntk"] as? [String: Any])
    ntk["normalization"] = "none"
    object["ntk"] = ntk
    let changed = try CLIHarness.writeManifest(object, in: work, name: "changed")
    try expectRefusal(changed, naming: "manifest hash", notNaming: ["weights hash", "input data hash"])

    // 2. The weights file, same path and manifest: one value changed.
    let original = try FileBytes.read(path: weights)
    var modified = original
    modified[modified.count - 4] ^= 0x01
    try Data(modified).write(to: URL(fileURLWithPath: weights))
    try expectRefusal(manifest, naming: "weights hash", notNaming: ["manifest hash", "input data hash"])
    try Data(original).write(to: URL(fileURLWithPath: weights))

    // 3. The input data file, same path and manifest: one value changed.
    let inputs = "\(work)/inputs.npy"
    let data = try FileBytes.read(path: inputs)
    var flipped = data
    flipped[flipped.count - 2] ^= 0x01
    try Data(flipped).write(to: URL(fileURLWithPath: inputs))
    try expectRefusal(manifest, naming: "input data hash", notNaming: ["manifest hash", "weights hash"])
    try Data(data).write(to: URL(fileURLWithPath: inputs))

    // Restored files: the run resumes.
    let resumed = try FaultHarness.run(["run", manifest, "--run-dir", "\(work)/run", "--progress", "tiles"])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertEqual(FaultHarness.tileLines(resumed.stdout), [1, 2])
  }

  func testSIGTERMAndSIGINTStopWithin30SecondsWithCode75AndTheRunResumes() throws {
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 300, tileSamples: 10)
    var journaled: [Int] = []
    for (k, signal) in [SIGTERM, SIGINT].enumerated() {
      let logs = "\(work)/session-\(k)"
      let process = try startLongRun(manifest, run: "\(work)/run", logs: logs, tiles: 3)
      let sent = Date()
      kill(process.processIdentifier, signal)
      while process.isRunning, Date().timeIntervalSince(sent) < 30 { usleep(1_000) }
      XCTAssertFalse(process.isRunning, "still running 30 s after signal \(signal)")
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
      process.waitUntilExit()
      XCTAssertEqual(process.terminationReason, .exit)
      let stderr = try String(contentsOfFile: logs + "/stderr.log", encoding: .utf8)
      XCTAssertEqual(process.terminationStatus, 75, stderr)
      XCTAssertTrue(stderr.contains(signal == SIGTERM ? "SIGTERM received" : "SIGINT received"), stderr)
      let tiles = FaultHarness.tileLines(try String(contentsOfFile: logs + "/stdout.log", encoding: .utf8))
      XCTAssertGreaterThanOrEqual(tiles.count, 3)
      // Every reported tile is journaled, nothing more (a clean stop loses nothing).
      journaled += tiles
      XCTAssertEqual(Set(try FaultHarness.journaledObjects("\(work)/run").keys), Set(journaled))
      try CLIHarness.succeed(["verify", "\(work)/run"])
    }
    XCTAssertEqual(journaled, Array(0..<journaled.count), "each session continued exactly where the previous one stopped")
    let resumed = try FaultHarness.run(["run", manifest, "--run-dir", "\(work)/run", "--progress", "tiles", "--max-tiles", "3"])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertEqual(FaultHarness.tileLines(resumed.stdout), Array(journaled.count..<(journaled.count + 3)))
  }

  func testSIGTERMDuringStartUpAlsoExitsWith75AndLosesNothing() throws {
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 300, tileSamples: 10)
    var generator = SplitMix64(seed: 75)
    var journaled = 0
    for attempt in 0..<6 {
      let logs = "\(work)/early-\(attempt)"
      try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
      let process = try CLIHarness.start(["run", manifest, "--run-dir", "\(work)/run", "--progress", "tiles"], logDirectory: logs)
      // Once the run catches SIGTERM (before that the process is still in the Swift runtime's
      // start, where SIGTERM's default action applies: a slow start under load made this flaky),
      // 0–340 ms: while the dataset is read, the session opened, the logits or the first tiles computed.
      try Self.waitUntilSIGTERMIsWatched(process)
      usleep(UInt32(generator.below(340_000)))
      kill(process.processIdentifier, SIGTERM)
      let sent = Date()
      while process.isRunning, Date().timeIntervalSince(sent) < 30 { usleep(1_000) }
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
      process.waitUntilExit()
      let stderr = try String(contentsOfFile: logs + "/stderr.log", encoding: .utf8)
      XCTAssertEqual(process.terminationReason, .exit, stderr)
      XCTAssertEqual(process.terminationStatus, 75, stderr)
      let tiles = FaultHarness.tileLines(try String(contentsOfFile: logs + "/stdout.log", encoding: .utf8))
      XCTAssertEqual(tiles, Array(journaled..<(journaled + tiles.count)), "attempt \(attempt) did not continue where the last stopped")
      journaled += tiles.count
    }
    XCTAssertEqual(try FaultHarness.journaledObjects("\(work)/run").count, journaled)
  }

  /// Waits (up to 30 s) until `process` catches SIGTERM: `SignalWatch`'s dispatch source installs
  /// a handler (bit 14, signal 15, of `SigCgt` in /proc/PID/status).
  static func waitUntilSIGTERMIsWatched(_ process: Process) throws {
    let start = Date()
    while Date().timeIntervalSince(start) < 30 {
      guard process.isRunning else { return }
      let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
      if let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
         let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16),
         mask & (1 << (UInt64(SIGTERM) - 1)) != 0 { return }
      usleep(1_000)
    }
    XCTFail("the run did not start watching SIGTERM within 30 s")
  }
}
