import XCTest
@testable import Checkpoint
import Storage
import TestSupport

/// Many writers on one journal: shard segment names, the union on replay, duplicates (tolerated,
/// then removed) and per-shard locks.
final class JournalShardTests: XCTestCase {
  private let identity = RunIdentity(manifestHash: testHash("manifest"), weightsHash: testHash("weights"),
                                     inputDataHash: testHash("data"), sampleCount: 25, tileSamples: 10,
                                     precision: .float32, normalization: .sqrtParams)

  private func header(_ session: Int, _ shard: ShardSpec?, id: String = "0badc0de") -> JournalHeader {
    JournalHeader(identity: identity, session: session, host: "h", pid: 1, startTime: "t", shard: shard,
                  sessionID: shard == nil ? nil : id, shardTiles: shard == nil ? nil : 0..<3)
  }

  private func record(_ index: Int, seconds: Double = 1) -> TileRecord {
    let tile = try! identity.plan().tiles[index]  // (I, J) as the plan has them: replay checks them
    return TileRecord(index: index, rowBlock: tile.rowBlock, columnBlock: tile.columnBlock, object: testHash("tile\(index)"), rawByteCount: 10_000,
               storedByteCount: 9000, computeSeconds: seconds)
  }

  func testSegmentNamesRoundTripAndOthersAreIgnored() throws {
    let shard = try ShardSpec(index: 2, count: 4)
    let name = JournalSegmentName(number: 3, shard: shard, sessionID: "9f3c01ab")
    XCTAssertEqual(name.fileName, "segment-000003.shard-2-of-4.9f3c01ab.log")
    XCTAssertEqual(JournalSegmentName(fileName: name.fileName), name)
    XCTAssertEqual(JournalSegmentName(fileName: "segment-000001.log"), JournalSegmentName(number: 1, shard: nil, sessionID: nil))
    for bad in ["segment-000003.shard-2-of-4.9f3c01ab.log.damaged", "segment-000003.shard-4-of-4.9f3c01ab.log",
                "segment-000003.shard-2-of-4.xyz.log", "segment-3.log", "segment-000000.log", ".segment-000001.log.tmp-1-2"] {
      XCTAssertNil(JournalSegmentName(fileName: bad), bad)
    }
    // Replay order: number, then name.
    let sorted = [JournalSegmentName(number: 2, shard: nil, sessionID: nil), name,
                  JournalSegmentName(number: 2, shard: try ShardSpec(index: 0, count: 4), sessionID: "00000001")].sorted()
    XCTAssertEqual(sorted.map(\.number), [2, 2, 3])
  }

  func testShardsWriteDistinctSegmentsAndReplayIsTheirUnion() throws {
    let dir = try TemporaryDirectory("journal-shards")
    defer { dir.remove() }
    let journal = Journal(directory: dir.path + "/journal")
    // Two shards open at the same time: same session number, different names.
    let a = try journal.beginSession(header(1, try ShardSpec(index: 0, count: 2), id: "aaaaaaaa"))
    let b = try journal.beginSession(header(1, try ShardSpec(index: 1, count: 2), id: "bbbbbbbb"))
    try a.append(record(0)); try b.append(record(2)); try a.append(record(1))
    a.close(); b.close()
    // A second copy of shard 1 (where flock does not reach): another id, no collision.
    let c = try journal.beginSession(header(1, try ShardSpec(index: 1, count: 2), id: "cccccccc"))
    try c.append(record(2, seconds: 7))  // the same tile, same object, another compute time
    c.close()
    XCTAssertThrowsError(try journal.beginSession(header(1, try ShardSpec(index: 1, count: 2), id: "cccccccc")), "never two writers on one file")
    let replay = try journal.replay()
    XCTAssertEqual(replay.segments.count, 3)
    XCTAssertEqual(replay.tiles.keys.sorted(), [0, 1, 2])
    XCTAssertEqual(replay.duplicates.count, 1)
    XCTAssertEqual(replay.duplicates.first?.record.index, 2)
    XCTAssertEqual(replay.nextSession, 2)
    XCTAssertEqual(replay.segments.map { $0.shard?.index }, [0, 1, 1])

    // repair's step: the duplicate goes, the first record stays; the journal replays the same tiles.
    let removals = try journal.removeDuplicates()
    XCTAssertEqual(removals.count, 1)
    XCTAssertTrue(removals[0].segment.hasSuffix("segment-000001.shard-1-of-2.cccccccc.log"), removals[0].segment)
    XCTAssertEqual(removals[0].tiles, [2])
    let after = try journal.replay()
    XCTAssertEqual(after.tiles, replay.tiles)
    XCTAssertTrue(after.duplicates.isEmpty)
    XCTAssertEqual(after.tiles[2]?.computeSeconds, 1, "the first record is kept")
    XCTAssertEqual(try journal.removeDuplicates(), [])
  }

  func testAByteIdenticalCopyOfAShardSegmentIsHarmless() throws {
    let dir = try TemporaryDirectory("journal-copy")
    defer { dir.remove() }
    let journal = Journal(directory: dir.path + "/journal")
    let a = try journal.beginSession(header(1, try ShardSpec(index: 0, count: 1), id: "aaaaaaaa"))
    for k in 0..<3 { try a.append(record(k)) }
    a.close()
    try FileManager.default.copyItem(atPath: journal.directory + "/segment-000001.shard-0-of-1.aaaaaaaa.log",
                                     toPath: journal.directory + "/segment-000001.shard-0-of-1.aaaaaaab.log")
    let replay = try journal.replay()
    XCTAssertEqual(replay.tiles.count, 3)
    XCTAssertEqual(replay.duplicates.count, 3)
    // A header naming another shard than its file is damage.
    try FileManager.default.copyItem(atPath: journal.directory + "/segment-000001.shard-0-of-1.aaaaaaaa.log",
                                     toPath: journal.directory + "/segment-000001.shard-0-of-2.aaaaaaaa.log")
    XCTAssertThrowsError(try journal.replay()) { error in
      XCTAssertTrue("\(error)".contains("header says shard 0/1, the file name shard 0/2"), "\(error)")
    }
  }

  func testOneWriterPerShardAndRepairWaitsForShards() throws {
    let dir = try TemporaryDirectory("shard-locks")
    defer { dir.remove() }
    let run = RunDirectory(path: dir.path + "/run")
    try run.createLayout()
    let shard = try ShardSpec(index: 1, count: 3)
    let lock = try run.lock(shard: shard)
    XCTAssertThrowsError(try run.lock(shard: shard)) { error in
      XCTAssertEqual((error as? CheckpointError)?.code, .locked)
      XCTAssertTrue("\(error)".contains("shard 1/3 is in use by pid \(ProcessInfo.processInfo.processIdentifier) on host"), "\(error)")
    }
    let other = try run.lock(shard: try ShardSpec(index: 2, count: 3))  // another shard: fine
    XCTAssertEqual(run.currentWriters().count, 2)
    XCTAssertThrowsError(try RunRepair.repair(run: run)) { error in
      XCTAssertEqual((error as? CheckpointError)?.code, .locked)
      XCTAssertTrue("\(error)".contains("a shard is being written by"), "\(error)")
    }
    lock.release(); other.release()
    XCTAssertTrue(run.currentWriters().isEmpty)
    XCTAssertNoThrow(try RunRepair.repair(run: run))
  }

  func testPerShardStatusShowsProgressHostAndFlagsASilentShard() throws {
    let dir = try TemporaryDirectory("shard-status")
    defer { dir.remove() }
    let run = RunDirectory(path: dir.path + "/run")
    try run.createLayout()
    let journal = run.journal
    var first = header(1, try ShardSpec(index: 0, count: 3), id: "aaaaaaaa")
    first.shardTiles = 0..<2
    let a = try journal.beginSession(first)
    for k in 0..<2 { try a.append(record(k)) }
    a.close()
    var second = header(1, try ShardSpec(index: 2, count: 3), id: "bbbbbbbb")
    second.shardTiles = 3..<6
    second.host = "node7"
    let b = try journal.beginSession(second)
    try b.append(record(3))
    b.close()
    let replay = try journal.replay()
    let now = ShardStatus.read(run: run, replay: replay)
    XCTAssertEqual(now.count, 3)
    XCTAssertEqual(now.missing, [1])
    XCTAssertEqual(now.shards.map(\.shard.index), [0, 2])
    XCTAssertEqual(now.missingCount, 1)
    XCTAssertEqual(now.shards.map(\.tilesDone), [2, 1])
    XCTAssertEqual(now.shards.map(\.tiles.count), [2, 3])
    XCTAssertEqual(now.shards[1].host, "node7")
    XCTAssertEqual(now.shards.map(\.stalled), [false, false])
    // An hour later, the unfinished shard is flagged; the complete one is not.
    let later = ShardStatus.read(run: run, replay: replay, now: Date().addingTimeInterval(3600))
    XCTAssertEqual(later.shards.map(\.stalled), [false, true])
    XCTAssertGreaterThan(later.shards[1].secondsSinceLastRecord, 3500)
  }

  /// Every shard count that wrote is shown; "not started" counts only shards of the newest N whose
  /// place in the plan (between the started shards' ranges) still holds tiles not journaled, the
  /// listing is capped, and once every tile is journaled none is listed.
  func testStatusShowsEveryShardCountAndNotStartedOnlyWhileTheirTilesAreMissing() throws {
    let dir = try TemporaryDirectory("shard-status-counts")
    defer { dir.remove() }
    let run = RunDirectory(path: dir.path + "/run")
    try run.createLayout()
    let journal = run.journal
    // 6 tiles. Shard 0/2 computes 0-2; then shard 0/1000 (tile 0, already done) starts.
    let a = try journal.beginSession(header(1, try ShardSpec(index: 0, count: 2), id: "aaaaaaaa"))
    for k in 0..<3 { try a.append(record(k)) }
    a.close()
    var late = header(2, try ShardSpec(index: 0, count: 1000), id: "bbbbbbbb")
    late.shardTiles = 0..<1
    try journal.beginSession(late).close()
    let partial = ShardStatus.read(run: run, replay: try journal.replay())
    XCTAssertEqual(partial.count, 1000)
    XCTAssertEqual(partial.shards.map(\.shard.description), ["0/1000", "0/2"])
    XCTAssertEqual(partial.shards.map(\.isComplete), [true, true])
    XCTAssertEqual(partial.missingCount, 999, "tiles 3-5 lie somewhere in shards 1…999")
    XCTAssertEqual(partial.missing, Array(1...20))
    // An unsharded session journals tiles 3-5: nothing is left, so no shard is "not started".
    let whole = try journal.beginSession(header(3, nil))
    for k in 3..<6 { try whole.append(record(k)) }
    whole.close()
    let done = ShardStatus.read(run: run, replay: try journal.replay())
    XCTAssertEqual(done.missingCount, 0)
    XCTAssertEqual(done.missing, [])
    XCTAssertEqual(done.shards.map(\.shard.description), ["0/1000", "0/2"])
    let status = try RunStatus.read(run: run)
    XCTAssertTrue(status.isComplete)
    XCTAssertEqual(status.shardsNotStartedCount, 0)
  }

  /// The last record time comes from the journal (the record's `finishedAt`), not from the segment
  /// file's modification time: a touched or copied segment changes nothing.
  func testLastRecordTimeComesFromTheJournalNotTheFileTime() throws {
    let dir = try TemporaryDirectory("shard-status-time")
    defer { dir.remove() }
    let run = RunDirectory(path: dir.path + "/run")
    try run.createLayout()
    let formatter = ISO8601DateFormatter()
    let now = Date()
    let twoHoursAgo = formatter.string(from: now.addingTimeInterval(-7200))
    let a = try run.journal.beginSession(header(1, try ShardSpec(index: 0, count: 2), id: "aaaaaaaa"))
    var old = record(0)
    old.finishedAt = twoHoursAgo
    try a.append(old)
    a.close()
    var second = header(1, try ShardSpec(index: 1, count: 2), id: "bbbbbbbb")
    second.shardTiles = 3..<6
    let b = try run.journal.beginSession(second)
    var fresh = record(3)
    fresh.finishedAt = formatter.string(from: now)
    try b.append(fresh)
    b.close()
    // Shard 0's file looks fresh (written just now), shard 1's looks two hours old.
    for segment in try FileManager.default.contentsOfDirectory(atPath: run.journalDirectory) where segment.contains("shard-1-of-2") {
      try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-7200)], ofItemAtPath: run.journalDirectory + "/" + segment)
    }
    let status = ShardStatus.read(run: run, replay: try run.journal.replay(), now: now)
    XCTAssertEqual(status.shards.map(\.lastRecordTime), [twoHoursAgo, formatter.string(from: now)])
    XCTAssertEqual(status.shards[0].secondsSinceLastRecord, 7200, accuracy: 1)
    XCTAssertEqual(status.shards[1].secondsSinceLastRecord, 0, accuracy: 1)
    XCTAssertEqual(status.shards.map(\.stalled), [true, false])
    // The record round-trips through the journal with its time; older records decode without it.
    XCTAssertEqual(try run.journal.replay().tiles[0]?.finishedAt, twoHoursAgo)
    let legacy = try JSONDecoder().decode(TileRecord.self, from: Data(#"{"index":1,"rowBlock":0,"columnBlock":1,"object":"\#(testHash("x").hex)","rawByteCount":4,"storedByteCount":4,"computeSeconds":1}"#.utf8))
    XCTAssertNil(legacy.finishedAt)
  }
}

extension JournalShardTests {
  /// A shard whose host clock runs ahead (tester-s5): its last record time 5 h in this machine's
  /// future is flagged as clock skew, not taken as "silent 0 s" until that time has passed; its
  /// silence is measured from the segment file's modification time, so it is flagged stalled
  /// once that is old. A record time within the tolerance is no skew.
  func testARecordTimeInTheFutureIsClockSkewAndStillStalls() throws {
    let dir = try TemporaryDirectory("shard-status-skew")
    defer { dir.remove() }
    let run = RunDirectory(path: dir.path + "/run")
    try run.createLayout()
    let formatter = ISO8601DateFormatter()
    let now = Date()
    var ahead = header(1, try ShardSpec(index: 0, count: 2), id: "aaaaaaaa")
    ahead.shardTiles = 0..<3
    ahead.host = "fast"
    let a = try run.journal.beginSession(ahead)
    var future = record(0)
    future.finishedAt = formatter.string(from: now.addingTimeInterval(5 * 3600))
    try a.append(future)
    a.close()
    var close = header(1, try ShardSpec(index: 1, count: 2), id: "bbbbbbbb")
    close.shardTiles = 3..<6
    let b = try run.journal.beginSession(close)
    var slightly = record(3)
    slightly.finishedAt = formatter.string(from: now.addingTimeInterval(60))
    try b.append(slightly)
    b.close()
    let replay = try run.journal.replay()
    let segment = try XCTUnwrap(replay.segments.first { $0.header?.shard?.index == 0 }).path
    // The skewed shard's segment was last written 2 h ago by the file system's clock.
    try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-7200)], ofItemAtPath: segment)

    let status = ShardStatus.read(run: run, replay: replay, now: now)
    XCTAssertEqual(status.shards.map(\.shard.index), [0, 1])
    let skew = try XCTUnwrap(status.shards[0].clockSkewSeconds)
    XCTAssertEqual(skew, 5 * 3600, accuracy: 2)
    XCTAssertEqual(status.shards[0].secondsSinceLastRecord, 7200, accuracy: 2)
    XCTAssertEqual(status.shards[0].stalled, true)
    XCTAssertNil(status.shards[1].clockSkewSeconds)
    XCTAssertEqual(status.shards[1].secondsSinceLastRecord, 0)
    XCTAssertEqual(status.shards[1].stalled, false)
  }
}
