import Foundation
import Storage

/// A run directory's state, from its journal alone (no object is read): `ntkbatch status [--json]`.
public struct RunStatus: Codable, Equatable, Sendable {
  /// The run directory.
  public var run: String
  /// The identity from the journal header; `nil` if no session has written a header yet.
  public var identity: RunIdentity?
  /// Tiles journaled.
  public var tilesDone: Int
  /// Tiles in the plan (0 without identity).
  public var tilesTotal: Int
  /// Sample pairs (i ≤ j) covered by journaled tiles, of `pairsTotal` = n(n+1)/2.
  public var pairsDone: Int
  public var pairsTotal: Int
  /// Raw bytes of the journaled tiles.
  public var rawBytes: Int
  /// Bytes of their objects (compressed).
  public var storedBytes: Int
  /// Raw bytes of all tiles of the plan (≈ size of the upper triangle at the run precision).
  public var plannedRawBytes: Int
  /// Sum of the journaled tiles' compute seconds.
  public var computeSeconds: Double
  /// Estimated seconds left: wall seconds per sample pair of the newest session's last tiles
  /// (`recentWallSecondsPerPair`) × pairs left; without such a window, wall seconds per tile of
  /// the sessions so far (`wallSecondsPerTile`: storing, journaling and start-up included) ×
  /// tiles left; without any session's wall time, compute seconds per sample pair × pairs left
  /// (`etaBasis` says which; `nil` before the first tile).
  public var etaSeconds: Double?
  /// Wall seconds per journaled tile over the sessions with tiles: from each session's start
  /// (its header's `startTime`) to its last tile's `finishedAt`, summed, over their tile records.
  public var wallSecondsPerTile: Double? = nil
  /// Wall seconds per sample pair over the newest session's last tiles
  /// (`recentWallSecondsPerPair`), when they span long enough to tell.
  public var recentWallSecondsPerPair: Double? = nil
  /// What `etaSeconds` is based on: "wall time per sample pair of the last tiles", "wall time per
  /// tile" or "compute time per sample pair".
  public var etaBasis: String? = nil
  /// Number of sessions (journal segments).
  public var sessions: Int
  /// Torn tails found (crashed sessions), ignored.
  public var tornTails: Int
  /// The writer holding the lock now ("pid 12 on host h"), if any.
  public var writer: String?
  /// Per-shard progress of every shard (K, N) that wrote here, the newest N's first (empty for
  /// unsharded runs).
  public var shards: [ShardStatus] = []
  /// The newest shard count N.
  public var shardCount: Int? = nil
  /// Shards of N that never wrote a segment while their place in the plan still holds tiles not
  /// journaled (`ShardStatus.read`): the first `ShardStatus.listedLimit`, and how many in all.
  public var shardsNotStarted: [Int] = []
  public var shardsNotStartedCount: Int = 0
  /// Duplicate journal records (harmless; `repair` removes them).
  public var duplicateRecords: Int = 0
  /// The training stage of a `model.train` run (`RUN/training`), if it has one.
  public var training: TrainingStatus? = nil
  /// The ntkbatch versions that wrote the journal's sessions (`JournalHeader.ntkbatchVersion`),
  /// each once, in order of session; sessions of versions that did not record it are counted in
  /// `sessionsWithoutVersion`.
  public var ntkbatchVersions: [String] = []
  public var sessionsWithoutVersion: Int = 0

  /// Whether every tile is journaled.
  public var isComplete: Bool { identity != nil && tilesDone == tilesTotal }

  /// Reads the status of `run`.
  ///
  /// - Throws: `CheckpointError` (`.badInput`) if `run` is not a run directory, (`.damaged`) if
  ///   its journal is.
  public static func read(run: RunDirectory) throws -> RunStatus {
    try run.requireExisting()
    let replay = try run.journal.replay()
    let records = Array(replay.tiles.values)
    var status = RunStatus(run: run.path, identity: replay.identity, tilesDone: records.count, tilesTotal: 0,
                           pairsDone: 0, pairsTotal: 0,
                           rawBytes: records.reduce(0) { $0 + $1.rawByteCount },
                           storedBytes: records.reduce(0) { $0 + $1.storedByteCount },
                           plannedRawBytes: 0,
                           computeSeconds: records.reduce(0) { $0 + $1.computeSeconds },
                           etaSeconds: nil, sessions: replay.segments.count,
                           tornTails: replay.segments.filter { $0.tornTailOffset != nil }.count,
                           writer: RunLock.currentHolder(path: run.lockPath))
    let shards = ShardStatus.read(run: run, replay: replay)
    (status.shards, status.shardCount, status.shardsNotStarted, status.shardsNotStartedCount) = (shards.shards, shards.count, shards.missing, shards.missingCount)
    status.duplicateRecords = replay.duplicates.count
    for header in replay.headers {
      guard let version = header.ntkbatchVersion else { status.sessionsWithoutVersion += 1; continue }
      if !status.ntkbatchVersions.contains(version) { status.ntkbatchVersions.append(version) }
    }
    status.training = TrainingStatus.read(run: run, writer: status.writer, journalStarted: replay.identity != nil)
    if let identity = replay.identity {
      let plan = try identity.plan()
      status.tilesTotal = plan.tiles.count
      status.pairsTotal = plan.samplePairs
      status.plannedRawBytes = plan.rawByteCount
      status.pairsDone = records.reduce(0) { $0 + (plan.tiles.indices.contains($1.index) ? plan.tiles[$1.index].samplePairs : 0) }
      status.wallSecondsPerTile = wallSecondsPerTile(replay)
      status.recentWallSecondsPerPair = recentWallSecondsPerPair(
        Array(replay.tiles.values), since: replay.headers.compactMap { ISO8601DateFormatter().date(from: $0.startTime) }.max(), plan: plan)
      if let perPair = status.recentWallSecondsPerPair {
        status.etaSeconds = perPair * Double(max(0, status.pairsTotal - status.pairsDone))
        status.etaBasis = "wall time per sample pair of the last tiles"
      } else if let perTile = status.wallSecondsPerTile {
        status.etaSeconds = perTile * Double(max(0, status.tilesTotal - status.tilesDone))
        status.etaBasis = "wall time per tile"
      } else if status.pairsDone > 0 {
        status.etaSeconds = status.computeSeconds / Double(status.pairsDone) * Double(status.pairsTotal - status.pairsDone)
        status.etaBasis = "compute time per sample pair"
      }
    }
    return status
  }

  /// Wall seconds per sample pair of the last `TileRunner.etaWindowTiles` tiles finished at or
  /// after `since` (the newest session's start; all shards' tiles count, so concurrent shards give
  /// their joint rate): the pairs of all but the earliest of them over the time from the earliest's
  /// `finishedAt` to the latest's. `nil` with fewer such tiles (then the sessions' wall time per
  /// tile is the better guess) or a span under
  /// `minimumWindowSeconds` (`finishedAt` has whole seconds). Unlike a session's average, this
  /// leaves behind the first row of tiles, which also computes most block Jacobians.
  static func recentWallSecondsPerPair(_ records: [TileRecord], since: Date?, plan: TilePlan) -> Double? {
    guard let since else { return nil }
    let formatter = ISO8601DateFormatter()
    let timed = records.compactMap { record -> (Date, Int)? in
      guard let finished = record.finishedAt.flatMap(formatter.date(from:)), finished >= since,
            plan.tiles.indices.contains(record.index) else { return nil }
      return (finished, plan.tiles[record.index].samplePairs)
    }.sorted { $0.0 < $1.0 }.suffix(TileRunner.etaWindowTiles + 1)
    guard let first = timed.first, let last = timed.last, timed.count == TileRunner.etaWindowTiles + 1 else { return nil }
    let seconds = last.0.timeIntervalSince(first.0)
    let pairs = timed.dropFirst().reduce(0) { $0 + $1.1 }
    return seconds >= minimumWindowSeconds && pairs > 0 ? seconds / Double(pairs) : nil
  }

  /// Shortest span of `recentWallSecondsPerPair`'s window, seconds.
  static let minimumWindowSeconds = 10.0

  /// Wall seconds per tile record of the sessions that journaled tiles and say when (header
  /// `startTime`, last tile's `finishedAt`; ISO 8601, whole seconds), or `nil` when none does or
  /// their wall time is 0.
  static func wallSecondsPerTile(_ replay: JournalReplay) -> Double? {
    let formatter = ISO8601DateFormatter()
    var seconds = 0.0
    var tiles = 0
    for segment in replay.segments where segment.tileCount > 0 {
      guard let start = segment.header.flatMap({ formatter.date(from: $0.startTime) }),
            let end = segment.lastTile?.finishedAt.flatMap(formatter.date(from:)) else { continue }
      seconds += max(0, end.timeIntervalSince(start))
      tiles += segment.tileCount
    }
    return tiles > 0 && seconds > 0 ? seconds / Double(tiles) : nil
  }
}
