import Foundation
import Storage
import XCTest

/// Power loss: the journal's last record cut at every byte offset (what a crash mid-append
/// leaves), and the newest object truncated or gone (a disk that lied about fsync). Resume
/// recomputes exactly what was lost, and the eNTK equals an uninterrupted run's.
final class FaultPowerLossTests: NpyManifestTestCase {
  // LeNet on 20 samples in tiles of 10: tiles 0 (0, 0), 1 (0, 1), 2 (1, 1).
  override class var folderLabel: String { "power-loss" }
  override class var samples: Int { 20 }
  var reference: [UInt8] = []

  override func setUpWithError() throws {
    try super.setUpWithError()
    reference = try referenceRun()
  }

  func testJournalCutAtEveryByteOfItsLastRecordRecomputesOnlyThatTile() throws {
    let segment = try XCTUnwrap(FaultHarness.segments(of: "\(work)/base").last)
    let frames = try FaultHarness.frames(of: segment)
    XCTAssertEqual(frames.count, 4, "header + 3 tile records")
    let last = try XCTUnwrap(frames.last)
    let name = (segment as NSString).lastPathComponent
    var checked = 0
    for cut in last.offset..<(last.offset + last.length) {
      let trial = "\(work)/trial"
      try FaultHarness.copy("\(work)/base", to: trial)
      try FaultHarness.truncate("\(trial)/journal/\(name)", to: cut)
      if cut == last.offset + 17 {
        let status = try CLIHarness.succeed(["status", trial])
        XCTAssertTrue(status.stdout.contains("tiles:    2/3"), status.stdout)
        XCTAssertTrue(status.stdout.contains("ended mid-record"), status.stdout)
      }
      let resumed = try FaultHarness.run(["run", manifest, "--run-dir", trial, "--progress", "tiles"])
      XCTAssertEqual(resumed.status, 0, "cut at \(cut): \(resumed.stderr)")
      XCTAssertEqual(FaultHarness.tileLines(resumed.stdout), [2], "cut at byte \(cut) of \(last.offset)..<\(last.offset + last.length)")
      // Assembling every trial doubles the time; every 8th offset and the frame header's offsets
      // are enough to show the result is the reference (the tile lines above prove the rest).
      if cut < last.offset + 40 || cut % 8 == 0 || cut == last.offset + last.length - 1 {
        XCTAssertTrue(try FaultHarness.assembled(trial, output: "\(work)/trial.npy") == reference, "cut at \(cut)")
        checked += 1
      }
    }
    XCTAssertGreaterThan(last.length, 200)
    XCTAssertGreaterThan(checked, 40)
  }

  /// The newest object truncated or gone (a disk that lost data it acknowledged): `verify` names
  /// it, and `run` alone — which checks the object of every session's last record when it opens —
  /// recomputes only that tile; `repair` reports the same drop.
  func testNewestObjectTruncatedOrRemovedIsNamedByVerifyAndRecomputedByResume() throws {
    let objects = try FaultHarness.journaledObjects("\(work)/base")
    let newest = try XCTUnwrap(objects[2])
    for damage in ["half", "empty", "removed"] {
      for repairFirst in [false, true] {
        let trial = "\(work)/trial-\(damage)-\(repairFirst)"
        try FaultHarness.copy("\(work)/base", to: trial)
        let path = FaultHarness.objectPath(trial, newest)
        let size = try FileBytes.read(path: path).count
        switch damage {
        case "half": try FaultHarness.truncate(path, to: size / 2)
        case "empty": try FaultHarness.truncate(path, to: 0)
        default: try FileManager.default.removeItem(atPath: path)
        }
        let verify = try FaultHarness.run(["verify", trial])
        XCTAssertEqual(verify.status, 1, damage)
        XCTAssertTrue(verify.stdout.contains("\(damage == "removed" ? "MISSING" : "DAMAGED") tile 2 (1, 1)"), verify.stdout)
        XCTAssertFalse(verify.stdout.contains("tile 0 ") || verify.stdout.contains("tile 1 "), verify.stdout)

        if repairFirst {
          let repair = try CLIHarness.succeed(["repair", trial])
          XCTAssertTrue(repair.stdout.contains("DROPPED tile 2 (1, 1)"), repair.stdout)
          try CLIHarness.succeed(["verify", trial])
        }
        let resumed = try FaultHarness.run(["run", manifest, "--run-dir", trial, "--progress", "tiles"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(FaultHarness.tileLines(resumed.stdout), [2], "\(damage), repair first: \(repairFirst)")
        let verified = try CLIHarness.succeed(["verify", trial])
        XCTAssertTrue(verified.stdout.contains("3 of 3 journaled tiles intact"), verified.stdout)
        XCTAssertTrue(try FaultHarness.assembled(trial, output: "\(trial).npy") == reference, damage)
      }
    }
  }
}
