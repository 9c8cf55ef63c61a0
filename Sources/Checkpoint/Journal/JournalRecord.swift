import Foundation
import Storage

/// The first record of every journal segment: who wrote the segment, and what the run computes.
public struct JournalHeader: Codable, Equatable, Sendable {
  /// Journal format version (`Journal.formatVersion`).
  public var formatVersion: Int
  /// The run's identity (manifest, weights and input-data hashes; n, tileSamples, precision,
  /// normalization, m).
  public var identity: RunIdentity
  /// Session number, equal to the segment number (1, 2, …).
  public var session: Int
  /// Host name of the writing process.
  public var host: String
  /// Process id of the writing process.
  public var pid: Int
  /// When the session started, ISO 8601 UTC.
  public var startTime: String
  /// The shard this session computes (absent: an unsharded session, the whole plan).
  public var shard: ShardSpec?
  /// A shard session's random id (8 hex digits), also in its segment's file name.
  public var sessionID: String?
  /// The plan indices the shard computes (`ShardPlan`), so `status` can show per-shard progress
  /// from the journal alone.
  public var shardTiles: Range<Int>?
  /// The version of the ntkbatch that wrote this segment (`NTKBatchVersion.current`, "0.9.1"),
  /// for tracing a result to its tool; absent in headers of earlier versions, which decode
  /// unchanged (nil). Not part of the identity: sessions of different versions may extend a run.
  public var ntkbatchVersion: String?

  public init(formatVersion: Int = Journal.formatVersion, identity: RunIdentity, session: Int, host: String, pid: Int, startTime: String,
              shard: ShardSpec? = nil, sessionID: String? = nil, shardTiles: Range<Int>? = nil, ntkbatchVersion: String? = nil) {
    self.formatVersion = formatVersion
    self.identity = identity
    self.session = session
    self.host = host
    self.pid = pid
    self.startTime = startTime
    self.shard = shard
    self.sessionID = sessionID
    self.shardTiles = shardTiles
    self.ntkbatchVersion = ntkbatchVersion
  }
}

/// A finished tile: its object is durable in the object store before this record is appended.
public struct TileRecord: Codable, Equatable, Sendable {
  /// The tile's index in the plan.
  public var index: Int
  /// Row block I.
  public var rowBlock: Int
  /// Column block J.
  public var columnBlock: Int
  /// SHA-256 of the raw tile bytes (the object's name).
  public var object: ContentHash
  /// Raw tile size in bytes.
  public var rawByteCount: Int
  /// Object (compressed) size in bytes.
  public var storedByteCount: Int
  /// Wall-clock seconds spent computing the tile (not storing it).
  public var computeSeconds: Double
  /// When the record was written, ISO 8601 UTC (`2026-11-30T13:05:00Z`, the writer's clock);
  /// absent in records of older versions (`status` then uses the segment file's modification time).
  public var finishedAt: String?

  public init(index: Int, rowBlock: Int, columnBlock: Int, object: ContentHash, rawByteCount: Int, storedByteCount: Int, computeSeconds: Double,
              finishedAt: String? = nil) {
    self.index = index
    self.rowBlock = rowBlock
    self.columnBlock = columnBlock
    self.object = object
    self.rawByteCount = rawByteCount
    self.storedByteCount = storedByteCount
    self.computeSeconds = computeSeconds
    self.finishedAt = finishedAt
  }
}

/// Withdraws a journaled tile whose object was found missing or damaged (`ntkbatch repair`), so
/// that the next `run` computes it again. Appended like any record; the tile may be journaled
/// again after it.
public struct TileDrop: Codable, Equatable, Sendable {
  /// The tile's index in the plan.
  public var index: Int
  /// Row block I.
  public var rowBlock: Int
  /// Column block J.
  public var columnBlock: Int
  /// The object the withdrawn record named.
  public var object: ContentHash
  /// Why (one line, e.g. "object … is missing").
  public var reason: String

  public init(index: Int, rowBlock: Int, columnBlock: Int, object: ContentHash, reason: String) {
    self.index = index
    self.rowBlock = rowBlock
    self.columnBlock = columnBlock
    self.object = object
    self.reason = reason
  }
}

/// One journal record: the JSON payload of one journal frame (`JournalFrame`), one of three kinds.
///
/// On disk (UTF-8 JSON, keys sorted, `/` not escaped; docs/durability.md) the kind is a string
/// next to an object of the same name: `{"header": {…}, "kind": "header"}`,
/// `{"kind": "tile", "tile": {…}}`, `{"drop": {…}, "kind": "drop"}`. Decoding accepts exactly
/// these: a `kind` that is none of the three, or whose object is missing or accompanied by
/// another kind's, throws `JournalRecord.UnknownKind`; other malformed JSON throws the decoder's
/// error.
public enum JournalRecord: Codable, Equatable, Sendable {
  /// The first record of every segment.
  case header(JournalHeader)
  /// A finished tile.
  case tile(TileRecord)
  /// A withdrawn tile (`ntkbatch repair`).
  case drop(TileDrop)

  /// A payload with a `kind` string that names no record of this version (at most its first
  /// 40 characters are shown in messages), or whose fields do not match its kind.
  public struct UnknownKind: Error, Equatable {
    /// The payload's `kind` string.
    public var kind: String
  }

  private enum CodingKeys: String, CodingKey { case kind, header, tile, drop }

  public init(from decoder: Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let kind = try container.decode(String.self, forKey: .kind)
    let header = try container.decodeIfPresent(JournalHeader.self, forKey: .header)
    let tile = try container.decodeIfPresent(TileRecord.self, forKey: .tile)
    let drop = try container.decodeIfPresent(TileDrop.self, forKey: .drop)
    switch (kind, header, tile, drop) {
    case ("header", let header?, nil, nil): self = .header(header)
    case ("tile", nil, let tile?, nil): self = .tile(tile)
    case ("drop", nil, nil, let drop?): self = .drop(drop)
    default: throw UnknownKind(kind: kind)
    }
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    switch self {
    case .header(let header):
      try container.encode("header", forKey: .kind)
      try container.encode(header, forKey: .header)
    case .tile(let tile):
      try container.encode("tile", forKey: .kind)
      try container.encode(tile, forKey: .tile)
    case .drop(let drop):
      try container.encode("drop", forKey: .kind)
      try container.encode(drop, forKey: .drop)
    }
  }

  /// The payload bytes as the journal stores them: JSON, keys sorted, `/` not escaped.
  public func payload() throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return try [UInt8](encoder.encode(self))
  }

  /// Reads one frame's payload.
  ///
  /// - Throws: `UnknownKind`, or the decoder's error for bytes that are not such a JSON object.
  public init<Bytes: Collection>(payload: Bytes) throws where Bytes.Element == UInt8 {
    self = try JSONDecoder().decode(JournalRecord.self, from: Data(payload))
  }
}
