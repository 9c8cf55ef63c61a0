import Foundation
import Storage
import XCTest
import Engine
import TestSupport

/// Kill loop: `run` killed with SIGKILL at random moments — during start-up, mid-tile, between a
/// tile's object and its record — 50 times, restarted each time, still ends with an eNTK
/// byte-identical to an uninterrupted run's, and no journaled tile is ever computed again.
final class FaultKillLoopTests: XCTestCase {
  func testFiftySIGKILLsAtRandomMomentsGiveTheUninterruptedMatrix() throws {
    let work = try CLIHarness.temporaryDirectory("kill-loop")
    defer { try? FileManager.default.removeItem(atPath: work) }
    // LeNet on 300 MNIST digits in tiles of 10 samples: 30 blocks, 465 tiles (enough that the run
    // outlasts 50 kills even with every column block's Jacobian cached).
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 300, tileSamples: 10)
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/straight", "--progress", "none"])
    let reference = try FaultHarness.assembled("\(work)/straight", output: "\(work)/straight.npy")

    var generator = SplitMix64(seed: 20_261_130)
    var reported: [Int] = []
    var kills = 0
    var finished = false
    for session in 0..<200 {
      let logs = "\(work)/session-\(session)"
      try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
      let process = try CLIHarness.start(["run", manifest, "--run-dir", "\(work)/killed", "--progress", "tiles"],
                                         logDirectory: logs)
      if kills < 50 {
        if generator.next() % 4 == 0 {
          // A random moment of start-up (loading, opening the session) up to the first tile: once
          // tiles flow, a fixed delay of up to 0.4 s let a fast machine journal a hundred tiles per
          // session, and the run ended before its 50th kill (22 on a 2-core EPYC).
          let deadline = Date().addingTimeInterval(Double(generator.next() % 400_000) / 1_000_000)
          while process.isRunning, Date() < deadline, FaultHarness.tileLines(CLIHarness.log(logs, "stdout")).isEmpty {
            usleep(1_000)
          }
        } else {
          // After a random number of journaled tiles, plus a random delay (mid-tile, mid-write).
          let target = Int(generator.next() % 4) + 1
          let deadline = Date().addingTimeInterval(30)
          while process.isRunning, Date() < deadline,
                FaultHarness.tileLines(CLIHarness.log(logs, "stdout")).count < target {
            usleep(1_000)
          }
          usleep(UInt32(generator.next() % 3_000))
        }
        if process.isRunning {
          kill(process.processIdentifier, SIGKILL)
          kills += 1
        }
      }
      process.waitUntilExit()
      reported += FaultHarness.tileLines(try String(contentsOfFile: logs + "/stdout.log", encoding: .utf8))
      if process.terminationReason == .exit {
        XCTAssertEqual(process.terminationStatus, 0, CLIHarness.log(logs, "stderr"))
        finished = true
        break
      }
    }
    XCTAssertTrue(finished, "the run did not finish")
    XCTAssertGreaterThanOrEqual(kills, 50)
    // No tile was reported journaled twice; a tile journaled just before a kill may not have been
    // printed, but then the journal (which refuses duplicates on replay) is the record.
    XCTAssertEqual(reported.count, Set(reported).count, "a journaled tile was computed again after a restart")
    XCTAssertGreaterThanOrEqual(Set(reported).count, 465 - kills)
    XCTAssertEqual(try FaultHarness.journaledObjects("\(work)/killed").count, 465)
    try CLIHarness.succeed(["verify", "\(work)/killed"])
    let resumed = try FaultHarness.assembled("\(work)/killed", output: "\(work)/killed.npy")
    XCTAssertEqual(resumed.count, NpyHeader(dtype: .float32, shape: [3000, 3000]).encoded().count + 3000 * 3000 * 4)
    XCTAssertTrue(reference == resumed, "the eNTK after 50 kills differs from the uninterrupted run's")
  }
}
