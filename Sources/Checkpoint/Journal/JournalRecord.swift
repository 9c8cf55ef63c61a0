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

  public init(formatVersion: Int = Journal.formatVersion, identity: RunIdentity, session: Int, host: String, pid: Int, startTime: String,
              shard: ShardSpec? = nil, sessionID: String? = nil, shardTiles: Range<Int>? = nil) {
    self.formatVersion = formatVersion
    self.identity = identity
    self.session = session
    self.host = host
    self.pid = pid
    self.startTime = startTime
    self.shard = shard
    self.sessionID = sessionID
    self.shardTiles = shardTiles
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

/// The JSON payload of one journal frame: `{"kind": "header", "header": {…}}`,
/// `{"kind": "tile", "tile": {…}}` or `{"kind": "drop", "drop": {…}}`.
struct JournalPayload: Codable {
  var kind: String
  var header: JournalHeader?
  var tile: TileRecord?
  var drop: TileDrop?

  static func header(_ value: JournalHeader) -> JournalPayload { JournalPayload(kind: "header", header: value) }
  static func tile(_ value: TileRecord) -> JournalPayload { JournalPayload(kind: "tile", tile: value) }
  static func drop(_ value: TileDrop) -> JournalPayload { JournalPayload(kind: "drop", drop: value) }
}
