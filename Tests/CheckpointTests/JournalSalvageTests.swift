import XCTest
@testable import Checkpoint
import Storage
import TestSupport

/// The stricter torn-tail rule (a bad frame followed by a valid one is damage, even when its
/// declared length runs past the end) and `Journal.salvage()` (remove the damaged record, keep the original).
final class JournalSalvageTests: XCTestCase {
  private let identity = RunIdentity(manifestHash: testHash("manifest"), weightsHash: testHash("weights"),
                                     inputDataHash: testHash("data"), sampleCount: 25, tileSamples: 10,
                                     precision: .float32, normalization: .sqrtParams)

  private func writeSession(_ journal: Journal, _ session: Int, _ indices: [Int]) throws -> String {
    let writer = try journal.beginSession(JournalHeader(identity: identity, session: session, host: "h", pid: 1, startTime: "t"))
    for index in indices {
      let tile = try identity.plan().tiles[index]  // (I, J) as the plan has them: replay checks them
      try writer.append(TileRecord(index: index, rowBlock: tile.rowBlock, columnBlock: tile.columnBlock, object: testHash("tile\(index)"),
                                   rawByteCount: 400, storedByteCount: 300, computeSeconds: 0.25))
    }
    writer.close()
    return journal.directory + "/" + Journal.segmentName(session)
  }

  /// A length field flipped so that the frame seems to run past the end of the file would pass as
  /// a torn tail under a naive rule; the valid records after it make it damage.
  func testLengthRunningPastTheEndWithValidRecordsAfterItIsDamage() throws {
    let dir = try TemporaryDirectory("salvage")
    defer { dir.remove() }
    let journal = Journal(directory: dir.path + "/journal")
    let path = try writeSession(journal, 1, [0, 1, 2, 3])
    let full = try readBytes(path)
    let frames = JournalFrame.scan(full).frames
    XCTAssertEqual(frames.count, 5)
    var damaged = full
    damaged[frames[2].offset + 2] ^= 0x08  // + 512 KiB: past the end of the file, still ≤ 1 MiB
    let scan = JournalFrame.scan(damaged)
    XCTAssertNil(scan.tornTailOffset)
    XCTAssertEqual(scan.damage?.offset, frames[2].offset)
    XCTAssertTrue(scan.damage?.reason.contains("a valid record follows at byte \(frames[3].offset)") ?? false, "\(String(describing: scan.damage))")
    try writeBytes(damaged, path)
    XCTAssertThrowsError(try journal.replay()) { error in
      XCTAssertEqual((error as? CheckpointError)?.code, .damaged)
      XCTAssertTrue("\(error)".hasPrefix("\(path): damaged journal record at byte \(frames[2].offset)"), "\(error)")
    }
  }

  func testSalvageRemovesOnlyTheDamagedRecordKeepsTheOriginalAndLeavesIntactSegmentsAlone() throws {
    let dir = try TemporaryDirectory("salvage")
    defer { dir.remove() }
    let journal = Journal(directory: dir.path + "/journal")
    let first = try writeSession(journal, 1, [0, 1, 2, 3])
    let second = try writeSession(journal, 2, [4, 5])
    let original = try readBytes(first)
    let intact = try readBytes(second)
    let frames = JournalFrame.scan(original).frames
    var damaged = original
    damaged[frames[2].offset + 40] ^= 0x01  // payload of tile 1's record
    try writeBytes(damaged, first)

    let cuts = try journal.salvage()
    XCTAssertEqual(cuts.count, 1)
    XCTAssertEqual(cuts.first?.segment, first)
    XCTAssertEqual(cuts.first?.offset, frames[2].offset)
    XCTAssertEqual(cuts.first?.bytesCut, frames[3].offset - frames[2].offset)
    XCTAssertEqual(cuts.first?.damagedCopy, first + ".damaged")
    XCTAssertEqual(try readBytes(first + ".damaged"), damaged)
    XCTAssertEqual(try readBytes(first), Array(original[..<frames[2].offset]) + Array(original[frames[3].offset...]))
    XCTAssertEqual(try readBytes(second), intact)

    let replay = try journal.replay()
    XCTAssertEqual(replay.tiles.keys.sorted(), [0, 2, 3, 4, 5])
    XCTAssertEqual(try journal.segmentNumbers(), [1, 2], "the .damaged copy is not a segment")
    XCTAssertEqual(try journal.salvage(), [], "nothing left to cut")

    // A second cut of the same segment keeps both originals.
    var again = try readBytes(first)
    again.append(contentsOf: [0x05, 0, 0, 0] + [UInt8](repeating: 7, count: 41))
    again.append(contentsOf: intact)
    try writeBytes(again, first)
    XCTAssertEqual(try journal.salvage().first?.damagedCopy, first + ".damaged.2")
  }
}
