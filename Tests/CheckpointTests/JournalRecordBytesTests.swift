import Foundation
import XCTest
@testable import Checkpoint
import Storage
import TestSupport

/// The journal's bytes on disk are fixed: every payload below was written by ntkbatch before the
/// journal record became a `JournalRecord` enum (main b60c82a, a `kind` string with optional
/// fields), captured from that build's `Journal.beginSession` / `JournalWriter.append`. Records of
/// every kind read back to the same values and are written again byte for byte, whole segments
/// hash as before, and malformed records are refused with the same messages, so old run
/// directories keep resuming.
final class JournalRecordBytesTests: XCTestCase {
  private static let square = RunIdentity(
    manifestHash: testHash("manifest"), weightsHash: testHash("weights"), inputDataHash: testHash("data"),
    sampleCount: 25, tileSamples: 10, precision: .float32, normalization: .sqrtParams)
  private static let cross = RunIdentity(
    manifestHash: testHash("manifest"), weightsHash: testHash("weights"), inputDataHash: testHash("data"),
    sampleCount: 25, tileSamples: 10, precision: .float64, normalization: .none, outputsPerSample: 10,
    columnSampleCount: 31, columnInputDataHash: testHash("columns"), kernel: .pseudo)

  /// Segment 1 (unsharded): a header, three tiles (one with `finishedAt`, one with 1e19 seconds), a drop.
  private static func firstSession() -> [JournalRecord] {
    [.header(JournalHeader(identity: square, session: 1, host: "node-07.cluster/a", pid: 4242, startTime: "2026-01-01T00:00:00Z")),
     .tile(TileRecord(index: 0, rowBlock: 0, columnBlock: 0, object: testHash("tile0"), rawByteCount: 40000, storedByteCount: 31234,
                      computeSeconds: 0.1)),
     .tile(TileRecord(index: 1, rowBlock: 0, columnBlock: 1, object: testHash("tile1"), rawByteCount: 40000, storedByteCount: 29876,
                      computeSeconds: 1234.5678901234567, finishedAt: "2026-11-30T13:05:00Z")),
     .tile(TileRecord(index: 2, rowBlock: 0, columnBlock: 2, object: testHash("tile2"), rawByteCount: 20000, storedByteCount: 1,
                      computeSeconds: 1e19)),
     .drop(TileDrop(index: 1, rowBlock: 0, columnBlock: 1, object: testHash("tile1"), reason: "object 3fa2… is \"missing\" / gone"))]
  }

  /// Segment 2: a shard's header (cross identity, `pseudo` kernel, session id, tile range) and a tile.
  private static func secondSession() throws -> [JournalRecord] {
    [.header(JournalHeader(identity: cross, session: 2, host: "h", pid: 7, startTime: "2026-11-30T00:00:00Z",
                           shard: try ShardSpec(index: 2, count: 4), sessionID: "9f3c01ab", shardTiles: 3..<7)),
     .tile(TileRecord(index: 3, rowBlock: 1, columnBlock: 0, object: testHash("tile3"), rawByteCount: 1000, storedByteCount: 900,
                      computeSeconds: 0, finishedAt: "x"))]
  }

  // Payloads as the earlier build wrote them (segment-000001.log, then segment-000002.shard-2-of-4.9f3c01ab.log).
  private static let firstPayloads = [
    #"{"header":{"formatVersion":1,"host":"node-07.cluster/a","identity":{"inputDataHash":"3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7","manifestHash":"05b3abf2579a5eb66403cd78be557fd860633a1fe2103c7642030defe32c657f","normalization":"sqrt-params","outputsPerSample":10,"precision":"float32","sampleCount":25,"tileSamples":10,"weightsHash":"9a129038d9a00aed0cf6a7ea059ca50a813449061ab87848cf1a13eafdf33b2c"},"pid":4242,"session":1,"startTime":"2026-01-01T00:00:00Z"},"kind":"header"}"#,
    #"{"kind":"tile","tile":{"columnBlock":0,"computeSeconds":0.1,"index":0,"object":"bb36726d6ee54ccd5b73a6342aa7ba1f2b8bb0f806e97fcc70057b522b969389","rawByteCount":40000,"rowBlock":0,"storedByteCount":31234}}"#,
    #"{"kind":"tile","tile":{"columnBlock":1,"computeSeconds":1234.5678901234567,"finishedAt":"2026-11-30T13:05:00Z","index":1,"object":"9337aace2abb3fda7d365dbd0ff88b8605a1b95cb1d1310559e209c33bee0e25","rawByteCount":40000,"rowBlock":0,"storedByteCount":29876}}"#,
    #"{"kind":"tile","tile":{"columnBlock":2,"computeSeconds":1e+19,"index":2,"object":"04740a7955b5e40f9a3b040c334efd41b4c42ba4b4a29159ea08ecf2d4595f21","rawByteCount":20000,"rowBlock":0,"storedByteCount":1}}"#,
    #"{"drop":{"columnBlock":1,"index":1,"object":"9337aace2abb3fda7d365dbd0ff88b8605a1b95cb1d1310559e209c33bee0e25","reason":"object 3fa2… is \"missing\" / gone","rowBlock":0},"kind":"drop"}"#,
  ]
  private static let secondPayloads = [
    #"{"header":{"formatVersion":1,"host":"h","identity":{"columnInputDataHash":"0e624a1a135e4441e96ebbd5f95bc3df19c3c138df98c61ce684ef311d6e8b1a","columnSampleCount":31,"inputDataHash":"3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7","kernel":"pseudo","manifestHash":"05b3abf2579a5eb66403cd78be557fd860633a1fe2103c7642030defe32c657f","normalization":"none","outputsPerSample":10,"precision":"float64","sampleCount":25,"tileSamples":10,"weightsHash":"9a129038d9a00aed0cf6a7ea059ca50a813449061ab87848cf1a13eafdf33b2c"},"pid":7,"session":2,"sessionID":"9f3c01ab","shard":{"count":4,"index":2},"shardTiles":[3,7],"startTime":"2026-11-30T00:00:00Z"},"kind":"header"}"#,
    #"{"kind":"tile","tile":{"columnBlock":0,"computeSeconds":0,"finishedAt":"x","index":3,"object":"edc04f4d3271ddaca2c8ab2f883d6e236cd533594be7520c8640281b7b8b6867","rawByteCount":1000,"rowBlock":1,"storedByteCount":900}}"#,
  ]
  /// Size and SHA-256 of the two segment files the earlier build wrote.
  private static let firstSegment = (name: "segment-000001.log", bytes: 1529, sha256: "1429f362b392e63cf6d58975fc1f4dbdf7e54520628f837d6af2275bceed3436")
  private static let secondSegment = (name: "segment-000002.shard-2-of-4.9f3c01ab.log", bytes: 963, sha256: "8c799bd396eff30f48fcceaf00761b4fb8176fba1a3a394e97f3e79788f945e9")

  func testEveryKindReadsBackAndIsWrittenAgainByteForByte() throws {
    let records = try Self.firstSession() + Self.secondSession()
    let payloads = Self.firstPayloads + Self.secondPayloads
    XCTAssertEqual(records.count, payloads.count)
    for (record, payload) in zip(records, payloads) {
      let read = try JournalRecord(payload: Array(payload.utf8))
      XCTAssertEqual(read, record, payload)
      XCTAssertEqual(String(decoding: try read.payload(), as: UTF8.self), payload)
      XCTAssertEqual(try read.payload(), Array(payload.utf8))
    }
  }

  func testSegmentsWrittenNowAreTheBytesWrittenBefore() throws {
    let dir = try TemporaryDirectory("journal-bytes")
    defer { dir.remove() }
    let journal = Journal(directory: dir.path + "/journal")
    for session in [try Self.firstSession(), try Self.secondSession()] {
      guard case .header(let header) = session[0] else { return XCTFail("a session starts with its header") }
      let writer = try journal.beginSession(header)
      for record in session.dropFirst() {
        switch record {
        case .tile(let tile): try writer.append(tile)
        case .drop(let drop): try writer.append(drop)
        case .header: XCTFail("one header per segment")
        }
      }
      writer.close()
    }
    for (segment, payloads) in [(Self.firstSegment, Self.firstPayloads), (Self.secondSegment, Self.secondPayloads)] {
      let bytes = try readBytes(journal.directory + "/" + segment.name)
      XCTAssertEqual(bytes.count, segment.bytes, segment.name)
      XCTAssertEqual(ContentHash.sha256(bytes).hex, segment.sha256, segment.name)
      XCTAssertEqual(bytes, payloads.flatMap { JournalFrame.encode(Array($0.utf8)) }, segment.name)
    }
  }

  func testSegmentsOfTheEarlierFormatReplay() throws {
    let dir = try TemporaryDirectory("journal-bytes")
    defer { dir.remove() }
    let journal = Journal(directory: dir.path + "/journal")
    try FileManager.default.createDirectory(atPath: journal.directory, withIntermediateDirectories: true)
    // The first segment (the second, of another identity and with a tile size outside its plan,
    // is only read record by record above).
    try writeBytes(Self.firstPayloads.flatMap { JournalFrame.encode(Array($0.utf8)) }, journal.directory + "/" + Self.firstSegment.name)
    let replay = try journal.replay()
    XCTAssertEqual(replay.headers.map(JournalRecord.header), [Self.firstSession()[0]])
    XCTAssertEqual(replay.tiles.keys.sorted(), [0, 2], "tile 1 is dropped")
    XCTAssertEqual(replay.tiles[0].map(JournalRecord.tile), Self.firstSession()[1])
    XCTAssertEqual(replay.tiles[2].map(JournalRecord.tile), Self.firstSession()[3])
    XCTAssertEqual(replay.drops.map(JournalRecord.drop), [Self.firstSession()[4]])
    XCTAssertEqual(replay.segments.map(\.tileCount), [3])
  }

  /// A header frame followed by one malformed record (a valid checksum): the messages the
  /// earlier build gave, and one record it accepted (an unknown extra key).
  func testMalformedRecordsAreRefusedAsBefore() throws {
    let header = JournalFrame.encode(Array(Self.firstPayloads[0].utf8))
    let cases: [(payload: String, message: String?)] = [
      (#"{"kind":"snapshot"}"#, #"has unknown kind "snapshot""#),
      (#"{"kind":"tile"}"#, #"has unknown kind "tile""#),
      (#"{"kind":"tile","tile":null}"#, #"has unknown kind "tile""#),
      (#"{"drop":{"columnBlock":1,"index":1,"object":"9337aace2abb3fda7d365dbd0ff88b8605a1b95cb1d1310559e209c33bee0e25","reason":"r","rowBlock":0},"kind":"tile"}"#,
       #"has unknown kind "tile""#),
      (#"{"kind":"header"}"#, #"has unknown kind "header""#),
      (#"{"kind":7}"#, "has a valid checksum but is not a journal record"),
      (#"{"header":1,"kind":"header"}"#, "has a valid checksum but is not a journal record"),
      (#"{"kind":"tile","tile":{"columnBlock":0,"computeSeconds":0,"index":0,"object":"bb36726d6ee54ccd5b73a6342aa7ba1f2b8bb0f806e97fcc70057b522b969389","rawByteCount":40000,"rowBlock":0,"storedByteCount":31234},"extra":1}"#,
       nil),
    ]
    let dir = try TemporaryDirectory("journal-bytes")
    defer { dir.remove() }
    for (k, (payload, message)) in cases.enumerated() {
      let journal = Journal(directory: dir.path + "/j\(k)")
      try FileManager.default.createDirectory(atPath: journal.directory, withIntermediateDirectories: true)
      let segment = journal.directory + "/segment-000001.log"
      try writeBytes(header + JournalFrame.encode(Array(payload.utf8)), segment)
      if let message {
        XCTAssertThrowsError(try journal.replay(), payload) { error in
          XCTAssertEqual("\(error)", "\(segment): journal record at byte \(header.count) \(message)")
        }
      } else {
        XCTAssertEqual(try journal.replay().tiles.count, 1, payload)
      }
    }
  }
}
