import XCTest
@testable import Checkpoint
import Storage
import TestSupport

final class JournalTests: XCTestCase {
  private let identity = RunIdentity(manifestHash: testHash("manifest"), weightsHash: testHash("weights"),
                                     inputDataHash: testHash("data"), sampleCount: 25, tileSamples: 10,
                                     precision: .float32, normalization: .sqrtParams)

  private func header(_ session: Int) -> JournalHeader {
    JournalHeader(identity: identity, session: session, host: "testhost", pid: 4242, startTime: "2026-01-01T00:00:00Z")
  }

  private func record(_ index: Int) -> TileRecord {
    TileRecord(index: index, rowBlock: index / 3, columnBlock: index % 3 + index / 3, object: testHash("tile\(index)"),
               rawByteCount: 4000 + index, storedByteCount: 3000 + index, computeSeconds: 0.5 * Double(index))
  }

  /// Writes one session with `records` and returns the segment path.
  private func writeSession(_ journal: Journal, _ session: Int, _ indices: [Int]) throws -> String {
    let writer = try journal.beginSession(header(session))
    for index in indices { try writer.append(record(index)) }
    writer.close()
    return journal.directory + "/" + Journal.segmentName(session)
  }

  func testRoundTripAcrossSessionsOneSegmentEach() throws {
    let dir = try TemporaryDirectory("journal")
    defer { dir.remove() }
    let journal = Journal(directory: dir.path + "/journal")
    XCTAssertEqual(try journal.replay().nextSession, 1)
    _ = try writeSession(journal, 1, [0, 1, 2])
    var replay = try journal.replay()
    XCTAssertEqual(replay.nextSession, 2)
    _ = try writeSession(journal, replay.nextSession, [3, 4])
    replay = try journal.replay()
    XCTAssertEqual(try journal.segmentNumbers(), [1, 2])
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: journal.directory).sorted(),
                   ["segment-000001.log", "segment-000002.log"])
    XCTAssertEqual(replay.segments.map(\.tileCount), [3, 2])
    XCTAssertEqual(replay.headers, [header(1), header(2)])
    XCTAssertEqual(replay.identity, identity)
    XCTAssertEqual(replay.tiles.count, 5)
    for index in 0..<5 { XCTAssertEqual(replay.tiles[index], record(index)) }
    XCTAssertTrue(replay.segments.allSatisfy { $0.tornTailOffset == nil })
  }

  func testFrameLayoutIsLengthChecksumPayload() throws {
    let dir = try TemporaryDirectory("journal")
    defer { dir.remove() }
    let journal = Journal(directory: dir.path + "/journal")
    let path = try writeSession(journal, 1, [])
    let bytes = try readBytes(path)
    let length = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
    XCTAssertEqual(bytes.count, 36 + length)
    let payload = Array(bytes[36...])
    XCTAssertEqual(Array(bytes[4..<36]), ContentHash.sha256(payload).digestBytes)
    let json = try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any]
    XCTAssertEqual(json?["kind"] as? String, "header")
    let fields = json?["header"] as? [String: Any]
    XCTAssertEqual(fields?["session"] as? Int, 1)
    XCTAssertEqual(fields?["pid"] as? Int, 4242)
    XCTAssertEqual(fields?["formatVersion"] as? Int, Journal.formatVersion)
  }

  /// Power loss mid-append: the last record truncated at every byte offset is dropped, the rest kept.
  func testTornFinalRecordAtEveryOffsetIsDropped() throws {
    let dir = try TemporaryDirectory("journal")
    defer { dir.remove() }
    let journal = Journal(directory: dir.path + "/journal")
    let path = try writeSession(journal, 1, [0, 1, 2])
    let full = try readBytes(path)
    let lastStart = try JournalFrame.decode(full, name: path).frames.last!.offset
    XCTAssertGreaterThan(full.count - lastStart, 36)
    for cut in lastStart..<full.count {
      try writeBytes(Array(full[..<cut]), path)
      let replay = try journal.replay()
      XCTAssertEqual(replay.tiles.keys.sorted(), [0, 1], "cut at \(cut)")
      XCTAssertEqual(replay.segments[0].tornTailOffset, cut == lastStart ? nil : lastStart, "cut at \(cut)")
    }
    // A bad checksum on the very last record is a torn tail too.
    var flipped = full
    flipped[full.count - 3] ^= 0x01
    try writeBytes(flipped, path)
    XCTAssertEqual(try journal.replay().tiles.keys.sorted(), [0, 1])
    // So are zero bytes appended by a file system after a crash.
    try writeBytes(full + [UInt8](repeating: 0, count: 100), path)
    XCTAssertEqual(try journal.replay().tiles.keys.sorted(), [0, 1, 2])
  }

  /// A damaged record followed by more data is an error naming the segment and the offset.
  func testFlippedByteInMiddleRecordNamesOffset() throws {
    let dir = try TemporaryDirectory("journal")
    defer { dir.remove() }
    let journal = Journal(directory: dir.path + "/journal")
    let path = try writeSession(journal, 1, [0, 1, 2])
    let full = try readBytes(path)
    let frames = try JournalFrame.decode(full, name: path).frames
    let middle = frames[2].offset  // record of tile 1
    for position in [middle + 40, middle + 10, middle + 36 + 5] {
      var damaged = full
      damaged[position] ^= 0x20
      try writeBytes(damaged, path)
      XCTAssertThrowsError(try journal.replay(), "flip at \(position)") { error in
        let e = error as? CheckpointError
        XCTAssertEqual(e?.code, .damaged)
        XCTAssertTrue(e?.message.hasPrefix(path) ?? false, "\(error)")
        XCTAssertTrue(e?.message.contains("at byte \(middle)") ?? false, "\(error)")
      }
    }
    // An impossible length anywhere is damage.
    var damaged = full
    damaged[middle + 3] = 0xFF
    try writeBytes(damaged, path)
    XCTAssertThrowsError(try journal.replay()) { error in
      XCTAssertTrue("\(error)".contains("at byte \(middle): impossible length"), "\(error)")
    }
  }

  func testTileJournaledInTwoSegmentsWithTheSameObjectIsADuplicateAndWithAnotherObjectAnError() throws {
    let dir = try TemporaryDirectory("journal")
    defer { dir.remove() }
    let journal = Journal(directory: dir.path + "/journal")
    _ = try writeSession(journal, 1, [0, 1])
    _ = try writeSession(journal, 2, [1])
    let replay = try journal.replay()
    XCTAssertEqual(replay.tiles.keys.sorted(), [0, 1])
    XCTAssertEqual(replay.duplicates.map(\.record.index), [1])
    XCTAssertTrue(replay.duplicates[0].firstSegment.hasSuffix("segment-000001.log"))
    // The same tile with another object: an error naming both segments.
    let writer = try journal.beginSession(header(3))
    var other = record(0)
    other.object = testHash("another")
    try writer.append(other)
    writer.close()
    XCTAssertThrowsError(try journal.replay()) { error in
      XCTAssertEqual((error as? CheckpointError)?.code, .damaged)
      XCTAssertTrue("\(error)".contains("tile 0 (I=0, J=0) journaled twice with different objects"), "\(error)")
      XCTAssertTrue("\(error)".contains("segment-000001.log"), "\(error)")
      XCTAssertTrue("\(error)".contains("segment-000003.log"), "\(error)")
    }
  }

  /// The newest segment cut before its header (a session that crashed while starting) is ignored;
  /// the next session of the writer sets it aside (`….damaged`) before starting its own.
  func testTornHeaderSegmentIsIgnoredAndNextSessionSetsItAsideAndMovesOn() throws {
    let dir = try TemporaryDirectory("journal")
    defer { dir.remove() }
    let journal = Journal(directory: dir.path + "/journal")
    _ = try writeSession(journal, 1, [0])
    let second = try writeSession(journal, 2, [])
    try writeBytes(Array(try readBytes(second).prefix(20)), second)
    let replay = try journal.replay()
    XCTAssertEqual(replay.headers.count, 1)
    XCTAssertNil(replay.segments[1].header)
    XCTAssertEqual(replay.nextSession, 3)
    let writer = try journal.beginSession(header(3))
    XCTAssertEqual(writer.setAsideSegments, [Journal.SetAsideSegment(segment: second, copy: second + ".damaged", byteCount: 20)])
    try writer.append(record(1))
    writer.close()
    XCTAssertEqual(try journal.replay().tiles.keys.sorted(), [0, 1])
    XCTAssertEqual(try journal.segments().map(\.number), [1, 3])
    XCTAssertEqual(try journal.setAsideFiles(), [second + ".damaged"])
  }

  /// An earlier segment of the same writer cut before its header — bytes, zeros or half a header —
  /// is damage naming it and the later segment; an empty one is not (nothing was written).
  func testAnEarlierSegmentCutBeforeItsHeaderIsDamage() throws {
    let dir = try TemporaryDirectory("journal")
    defer { dir.remove() }
    let journal = Journal(directory: dir.path + "/journal")
    let first = try writeSession(journal, 1, [0])
    let second = try writeSession(journal, 2, [1])
    let original = try readBytes(first)
    let headerFrame = 36 + (Int(original[0]) | Int(original[1]) << 8 | Int(original[2]) << 16 | Int(original[3]) << 24)
    XCTAssertLessThan(headerFrame, original.count)
    for damaged in [Array(original.prefix(20)), Array(original.prefix(headerFrame / 2)), Array(original.prefix(headerFrame - 1)),
                    [UInt8](repeating: 0, count: 64)] {
      try writeBytes(damaged, first)
      XCTAssertThrowsError(try journal.replay()) { error in
        XCTAssertEqual((error as? CheckpointError)?.code, .damaged)
        XCTAssertTrue("\(error)".hasPrefix("\(first): cut short before its header (\(damaged.count) bytes, no complete header record), though \(second), a later segment of the same writer (the unsharded sessions), started after it"), "\(error)")
      }
    }
    try writeBytes([], first)
    XCTAssertEqual(try journal.replay().tiles.keys.sorted(), [1])
    // A torn last record after a complete header stays a crash's torn tail, earlier or not.
    try writeBytes(original.dropLast(5), first)
    XCTAssertEqual(try journal.replay().tiles.keys.sorted(), [1])
  }

  func testAppendAfterSessionExistsIsRefused() throws {
    let dir = try TemporaryDirectory("journal")
    defer { dir.remove() }
    let journal = Journal(directory: dir.path + "/journal")
    _ = try writeSession(journal, 1, [0])
    XCTAssertThrowsError(try journal.beginSession(header(1)), "a segment is never reopened")
  }
}

extension JournalTests {
  /// A failed append (ENOSPC from /dev/full) is reported and the writer refuses further appends,
  /// so no record can ever follow a torn one in the same segment.
  func testFailedAppendClosesTheWriter() throws {
    let writer = JournalWriter(file: try SystemFile.openForUpdate(path: "/dev/full", create: false))
    XCTAssertThrowsError(try writer.append(record(0))) { error in
      XCTAssertEqual((error as? CheckpointError)?.code, .failure)
      XCTAssertTrue("\(error)".contains("ENOSPC"), "\(error)")
    }
    XCTAssertThrowsError(try writer.append(record(1))) { error in
      XCTAssertTrue("\(error)".contains("closed after an earlier failure"), "\(error)")
    }
  }
}
