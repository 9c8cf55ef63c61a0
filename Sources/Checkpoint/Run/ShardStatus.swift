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
  /// When its newest segment was last written (ISO 8601 UTC): the `finishedAt` of its last tile
  /// record, or its session's start time (see `lastWrite(of:formatter:)`).
  public var lastRecordTime: String
  /// Seconds since then (since the newest segment file's modification time when the record time
  /// is in the future: see `clockSkewSeconds`).
  public var secondsSinceLastRecord: Double
  /// The process holding its lock on this machine ("pid 12 on host h"), if any.
  public var writer: String?
  /// Unfinished and silent for longer than `stallSeconds`.
  public var stalled: Bool
  /// How far `lastRecordTime` is ahead of this machine's clock, when by more than
  /// `clockSkewTolerance`: the writer's host clock runs ahead (times in records are the writer's).
  /// Such a shard is not "fresh" until that time has passed: its silence is then measured from
  /// the newest segment file's modification time (set by the file system, not by the writer's
  /// record), and it is stalled as any other. `nil` without such skew.
  public var clockSkewSeconds: Double? = nil

  /// Whether every tile of the shard is journaled.
  public var isComplete: Bool { tilesDone == tiles.count }

  /// A shard is flagged as stalled after this long without a journal write, or after 20 of its
  /// mean tile times if longer.
  public static let stallSeconds = 1800.0

  /// How far in the future (this machine's clock) a shard's last record time may be before it
  /// counts as clock skew (`clockSkewSeconds`): clocks of a cluster's hosts differ by a little.
  public static let clockSkewTolerance = 300.0

  /// What `read` finds: every shard (K, N) that wrote a segment, and the newest N's shards that
  /// did not.
  public struct Summary: Equatable, Sendable {
    /// Per-shard progress of every shard that wrote a segment: the newest shard count's first
    /// (by K), then earlier counts' (newest count first).
    public var shards: [ShardStatus]
    /// The newest shard count N (of the last segment written by a shard); nil for unsharded runs.
    public var count: Int?
    /// Shards of N that never wrote a segment and whose place in the plan may still hold tiles not
    /// journaled, ascending, at most `listedLimit` of them.
    public var missing: [Int]
    /// How many such shards in all.
    public var missingCount: Int
  }

  /// When `segment` was last written, from the journal: its last tile record's `finishedAt`, or
  /// its header's start time when it holds no tile record; for tile records of older versions
  /// (no `finishedAt`), the file's modification time.
  static func lastWrite(of segment: JournalReplay.Segment, formatter: ISO8601DateFormatter) -> Date? {
    if let last = segment.lastTile {
      if let time = last.finishedAt.flatMap(formatter.date(from:)) { return time }
      return (try? FileManager.default.attributesOfItem(atPath: segment.path))?[.modificationDate] as? Date
    }
    return segment.header.flatMap { formatter.date(from: $0.startTime) }
  }

  /// Longest `Summary.missing` list.
  public static let listedLimit = 20

  /// Journaled tiles of `shard`'s range as its newest segment header records it (0 before it
  /// wrote a session): what `status --tiles-done --shard K/N` prints, for the Slurm shard script.
  public static func tilesDone(of shard: ShardSpec, in replay: JournalReplay) -> Int {
    guard let range = replay.segments.last(where: { $0.header?.shard == shard })?.header?.shardTiles else { return 0 }
    return journaledCount(of: range, in: replay)
  }

  /// How many tiles of `range` are journaled (by anyone).
  static func journaledCount(of range: Range<Int>, in replay: JournalReplay) -> Int {
    range.reduce(0) { $0 + (replay.tiles[$1] != nil ? 1 : 0) }
  }

  /// Per-shard progress of every shard count in `replay`.
  ///
  /// A shard of the newest N that never wrote a segment is "not started" only while tiles of its
  /// place in the plan are not journaled: its range lies between the ranges (recorded in the
  /// headers) of the nearest shards below and above it that did write, and it counts when that
  /// stretch still holds a tile not journaled by anyone. So a complete run, or one whose missing
  /// shards' tiles other shard counts computed, lists none; N far above the tile count does not
  /// list thousands of empty shards once the tiles are done. Stalls are flagged for the newest N
  /// only (an unfinished shard of an earlier N was superseded).
  public static func read(run: RunDirectory, replay: JournalReplay, now: Date = Date()) -> Summary {
    guard let newest = replay.segments.last(where: { $0.header?.shard != nil }), let count = newest.header?.shard?.count else {
      return Summary(shards: [], count: nil, missing: [], missingCount: 0)
    }
    let meanTile = replay.tiles.isEmpty ? 0 : replay.tiles.values.reduce(0) { $0 + $1.computeSeconds } / Double(replay.tiles.count)
    let stallAfter = max(stallSeconds, 20 * meanTile)
    var byShard: [ShardSpec: [JournalReplay.Segment]] = [:]
    var counts: [Int] = []  // newest first
    for segment in replay.segments.reversed() {
      guard let shard = segment.header?.shard else { continue }
      if !counts.contains(shard.count) { counts.append(shard.count) }
      byShard[shard, default: []].insert(segment, at: 0)
    }
    let formatter = ISO8601DateFormatter()
    var shards: [ShardStatus] = []
    for n in counts {
      for (shard, segments) in byShard.filter({ $0.key.count == n }).sorted(by: { $0.key.index < $1.key.index }) {
        guard let latest = segments.last?.header else { continue }
        let range = latest.shardTiles ?? 0..<0
        let done = journaledCount(of: range, in: replay)
        let modified = segments.compactMap { lastWrite(of: $0, formatter: formatter) }.max() ?? now
        var silent = max(0, now.timeIntervalSince(modified))
        var skew: Double?
        if modified.timeIntervalSince(now) > clockSkewTolerance {
          skew = modified.timeIntervalSince(now)
          let written = segments.compactMap { (try? FileManager.default.attributesOfItem(atPath: $0.path))?[.modificationDate] as? Date }.max() ?? now
          silent = max(0, now.timeIntervalSince(written))
        }
        let writer = RunLock.currentHolder(path: run.lockPath(for: shard))
        shards.append(ShardStatus(shard: shard, tiles: range, tilesDone: done, sessions: segments.count, host: latest.host,
                                  lastRecordTime: formatter.string(from: modified), secondsSinceLastRecord: silent, writer: writer,
                                  stalled: n == count && done < range.count && silent > stallAfter, clockSkewSeconds: skew))
      }
    }
    // Not started: walk the gaps between the started shards of N (in K order, ranges ascending).
    let tileCount = (try? replay.identity?.plan().tiles.count) ?? nil
    let started = shards.filter { $0.shard.count == count }
    var missing: [Int] = [], missingCount = 0
    var previousK = -1, previousEnd = 0
    for next in started.map({ ($0.shard.index, $0.tiles.lowerBound, $0.tiles.upperBound) }) + [(count, tileCount ?? Int.max, 0)] {
      let (k, lower, end) = next
      if k > previousK + 1 {
        let gap = previousEnd..<max(previousEnd, min(lower, tileCount ?? lower))
        // Unknown plan size (no header identity): count the gap as holding work.
        if tileCount == nil || gap.contains(where: { replay.tiles[$0] == nil }) {
          let absent = (previousK + 1)..<k
          missingCount += absent.count
          missing += absent.prefix(max(0, listedLimit - missing.count))
        }
      }
      previousK = k
      previousEnd = max(previousEnd, end)
    }
    return Summary(shards: shards, count: count, missing: missing, missingCount: missingCount)
  }
}
