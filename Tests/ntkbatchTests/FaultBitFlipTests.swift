import Foundation
import Storage
import XCTest

/// Bit flips: in an object, `verify` names the tile; in a journal record before the end of a
/// segment, `status`, `run` and `verify` stop with one line naming the segment and byte offset
/// (exit 1); `repair` then `run` restores a verified state equal to an uninterrupted run's.
final class FaultBitFlipTests: NpyManifestTestCase {
  // LeNet on 30 samples in tiles of 10: tiles 0 (0, 0), 1 (0, 1), 2 (0, 2), 3 (1, 1), 4 (1, 2), 5 (2, 2).
  override class var folderLabel: String { "bit-flip" }
  var reference: [UInt8] = []

  override func setUpWithError() throws {
    try super.setUpWithError()
    reference = try referenceRun()
  }

  func flip(_ path: String, at offset: Int, mask: UInt8 = 0x40) throws {
    var bytes = try FileBytes.read(path: path)
    bytes[offset] ^= mask
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }

  func testFlippedByteInAnObjectIsNamedAndRepairedByRecomputingOnlyThatTile() throws {
    let trial = "\(work)/trial"
    try FaultHarness.copy("\(work)/base", to: trial)
    let hash = try XCTUnwrap(FaultHarness.journaledObjects(trial)[4])
    let path = FaultHarness.objectPath(trial, hash)
    try flip(path, at: try FileBytes.read(path: path).count / 2)

    let verify = try FaultHarness.run(["verify", trial])
    XCTAssertEqual(verify.status, 1)
    XCTAssertTrue(verify.stdout.contains("DAMAGED tile 4 (1, 2)"), verify.stdout)
    // The object's path, as for a MISSING object (a tester's finding: only its hash).
    XCTAssertTrue(verify.stdout.contains("DAMAGED tile 4 (1, 2): object \(path)"), verify.stdout)
    XCTAssertEqual(verify.stdout.components(separatedBy: "DAMAGED").count, 2, verify.stdout)

    let repair = try CLIHarness.succeed(["repair", trial])
    XCTAssertTrue(repair.stdout.contains("DROPPED tile 4 (1, 2)"), repair.stdout)
    XCTAssertTrue(repair.stdout.contains("REMOVED orphan object \(hash)"), repair.stdout)
    let resumed = try FaultHarness.run(["run", manifest, "--run-dir", trial, "--progress", "tiles"])
    XCTAssertEqual(FaultHarness.tileLines(resumed.stdout), [4], resumed.stderr)
    XCTAssertTrue(try CLIHarness.succeed(["verify", trial]).stdout.contains("6 of 6 journaled tiles intact"))
    XCTAssertTrue(try FaultHarness.assembled(trial, output: "\(work)/trial.npy") == reference)
  }

  func testFlippedByteInAMiddleJournalRecordIsAClearErrorAndRepairRecomputesOnlyItsTile() throws {
    let segment = try XCTUnwrap(FaultHarness.segments(of: "\(work)/base").first)
    let name = (segment as NSString).lastPathComponent
    let frames = try FaultHarness.frames(of: segment)
    XCTAssertEqual(frames.count, 7, "header + 6 tile records")
    // Tile 2's record (frame 3): length bytes (low → misaligned frames; high → impossible
    // length), checksum, first, middle and last payload byte.
    let record = frames[3]
    let positions = [0, 3, 4, 35, 36, record.length / 2, record.length - 1]
    for position in positions {
      let trial = "\(work)/trial-\(position)"
      try FaultHarness.copy("\(work)/base", to: trial)
      try flip("\(trial)/journal/\(name)", at: record.offset + position)

      for command in [["status", trial], ["verify", trial], ["run", manifest, "--run-dir", trial, "--progress", "none"]] {
        let result = try FaultHarness.run(command)
        XCTAssertEqual(result.status, 1, "\(command[0]) after a flip at +\(position): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "\(command[0]): \(result.stderr)")
        XCTAssertTrue(result.stderr.contains("\(name): damaged journal record at byte \(record.offset)"),
                      "\(command[0]) after a flip at +\(position): \(result.stderr)")
      }

      let repair = try CLIHarness.succeed(["repair", trial])
      XCTAssertTrue(repair.stdout.contains("CUT journal \(trial)/journal/\(name) at byte \(record.offset)"), repair.stdout)
      XCTAssertTrue(FileManager.default.fileExists(atPath: "\(trial)/journal/\(name).damaged"))
      // Only the damaged record is removed: repair resynchronises on the next valid record.
      XCTAssertEqual(try FileBytes.read(path: "\(trial)/journal/\(name)").count, frames.last!.offset + frames.last!.length - record.length)
      let resumed = try FaultHarness.run(["run", manifest, "--run-dir", trial, "--progress", "tiles"])
      XCTAssertEqual(resumed.status, 0, resumed.stderr)
      XCTAssertEqual(FaultHarness.tileLines(resumed.stdout), [2], "flip at +\(position)")
      XCTAssertTrue(try CLIHarness.succeed(["verify", trial]).stdout.contains("6 of 6 journaled tiles intact"))
      XCTAssertTrue(try FaultHarness.assembled(trial, output: "\(trial).npy") == reference, "flip at +\(position)")
    }
  }

  func testFlippedByteInTheLastRecordIsATornTailAndOnlyThatTileIsRecomputed() throws {
    // A bad checksum on the very last record is what a torn write leaves: ignored, not an error.
    let trial = "\(work)/trial"
    try FaultHarness.copy("\(work)/base", to: trial)
    let segment = try XCTUnwrap(FaultHarness.segments(of: trial).first)
    let last = try XCTUnwrap(FaultHarness.frames(of: segment).last)
    try flip(segment, at: last.offset + last.length / 2)
    let resumed = try FaultHarness.run(["run", manifest, "--run-dir", trial, "--progress", "tiles"])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertEqual(FaultHarness.tileLines(resumed.stdout), [5])
    XCTAssertTrue(try FaultHarness.assembled(trial, output: "\(work)/trial.npy") == reference)
  }

  /// A flipped byte in a segment's header (its first record) is named as the header, and the
  /// message says what `repair` does with it: the whole segment is set aside and all of its tiles
  /// are computed again (tester-s7: it said "remove the damaged record (its tile is computed
  /// again)", as for a tile's record).
  func testFlippedByteInASegmentHeaderSaysTheWholeSegmentIsSetAside() throws {
    let segment = try XCTUnwrap(FaultHarness.segments(of: "\(work)/base").first)
    let name = (segment as NSString).lastPathComponent
    let header = try XCTUnwrap(FaultHarness.frames(of: segment).first)
    XCTAssertEqual(header.offset, 0)
    let trial = "\(work)/trial-header"
    try FaultHarness.copy("\(work)/base", to: trial)
    try flip("\(trial)/journal/\(name)", at: header.length / 2)
    for command in [["status", trial], ["verify", trial], ["run", manifest, "--run-dir", trial, "--progress", "none"]] {
      let result = try FaultHarness.run(command)
      XCTAssertEqual(result.status, 1, "\(command[0]): \(result.stderr)")
      XCTAssertTrue(result.stderr.contains("\(name): damaged journal header (the segment's first record, byte 0): checksum mismatch"), "\(command[0]): \(result.stderr)")
      XCTAssertTrue(result.stderr.contains("run `ntkbatch repair` to set the whole segment aside (all of its tiles are computed again)"), result.stderr)
    }
    try CLIHarness.succeed(["repair", trial])
    let resumed = try FaultHarness.run(["run", manifest, "--run-dir", trial, "--progress", "tiles"])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertEqual(FaultHarness.tileLines(resumed.stdout), [0, 1, 2, 3, 4, 5])
    XCTAssertTrue(try FaultHarness.assembled(trial, output: "\(trial).npy") == reference)
  }
}
