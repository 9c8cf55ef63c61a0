import Foundation
import Storage

/// One shard's progress, from the journal alone (`ntkbatch status`): the shards of the most recent
/// shard count N that wrote to the run directory.
public struct ShardStatus: Codable, Equatable, Sendable {
  /// The shard.
  public var shard: ShardSpec
  /// Its tile range (from its segments' headers).
  public var tiles: Range<Int>
  /// Tiles of that range journaled (by any writer).
  public var tilesDone: Int
  /// Its sessions (segments).
  public var sessions: Int
  /// Host of its latest session.
  public var host: String
  /// When its newest segment was last written (file modification time, ISO 8601 UTC).
  public var lastRecordTime: String
  /// Seconds since then.
  public var secondsSinceLastRecord: Double
  /// The process holding its lock on this machine ("pid 12 on host h"), if any.
  public var writer: String?
  /// Unfinished and silent for longer than `stallSeconds`.
  public var stalled: Bool

  /// Whether every tile of the shard is journaled.
  public var isComplete: Bool { tilesDone == tiles.count }

  /// A shard is flagged as stalled after this long without a journal write, or after 20 of its
  /// mean tile times if longer.
  public static let stallSeconds = 1800.0

  /// Per-shard progress of the newest shard count in `replay` (shards of N that never started are
  /// listed by `missing`).
  public static func read(run: RunDirectory, replay: JournalReplay, now: Date = Date()) -> (shards: [ShardStatus], count: Int?, missing: [Int]) {
    guard let newest = replay.segments.last(where: { $0.header?.shard != nil }), let count = newest.header?.shard?.count else {
      return ([], nil, [])
    }
    let meanTile = replay.tiles.isEmpty ? 0 : replay.tiles.values.reduce(0) { $0 + $1.computeSeconds } / Double(replay.tiles.count)
    let stallAfter = max(stallSeconds, 20 * meanTile)
    var byShard: [Int: [JournalReplay.Segment]] = [:]
    for segment in replay.segments {
      guard let shard = segment.header?.shard, shard.count == count else { continue }
      byShard[shard.index, default: []].append(segment)
    }
    let formatter = ISO8601DateFormatter()
    var shards: [ShardStatus] = []
    for (_, segments) in byShard.sorted(by: { $0.key < $1.key }) {
      guard let latest = segments.last?.header, let shard = latest.shard else { continue }
      let range = latest.shardTiles ?? 0..<0
      let done = range.reduce(0) { $0 + (replay.tiles[$1] != nil ? 1 : 0) }
      let modified = segments.compactMap { segment in
        (try? FileManager.default.attributesOfItem(atPath: segment.path))?[.modificationDate] as? Date
      }.max() ?? now
      let silent = max(0, now.timeIntervalSince(modified))
      let writer = RunLock.currentHolder(path: run.lockPath(for: shard))
      shards.append(ShardStatus(shard: shard, tiles: range, tilesDone: done, sessions: segments.count, host: latest.host,
                                lastRecordTime: formatter.string(from: modified), secondsSinceLastRecord: silent, writer: writer,
                                stalled: done < range.count && silent > stallAfter))
    }
    let missing = (0..<min(count, 100_000)).filter { byShard[$0] == nil }
    return (shards, count, missing)
  }
}
