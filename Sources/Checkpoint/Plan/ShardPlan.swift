/// How N shards split a tile plan: N contiguous ranges of tile indices, in plan order, of about
/// equal estimated cost.
///
/// Contiguous in plan order (row by row), so a shard computes each row block's Jacobian once for
/// its whole stretch of the row and reuses cached column blocks as a single run does. Boundaries
/// are placed where the cumulative cost is nearest to k/N of the total (k = 1 … N−1), so each
/// shard's cost differs from the mean by at most the largest single tile's cost; with more shards
/// than tiles some shards are empty. Deterministic: every process of a job array computes the same
/// ranges from the same plan, costs and N.
public struct ShardPlan: Equatable, Sendable {
  /// Number of shards N.
  public let shardCount: Int
  /// Tile indices of shard k: `ranges[k]`; together exactly `0 ..< tiles` once each, in order.
  public let ranges: [Range<Int>]
  /// Estimated cost of each shard (the sum of its tiles' costs, in the cost function's unit).
  public let costs: [Double]

  /// Splits `tileCosts.count` tiles (cost of tile `i` in `tileCosts[i]`, ≥ 0) into `shardCount` ranges.
  ///
  /// - Throws: `CheckpointError` (`.badInput`) if `shardCount < 1` or a cost is negative or not finite.
  public init(tileCosts: [Double], shardCount: Int) throws {
    guard shardCount >= 1 else { throw CheckpointError(.badInput, "shard plan: expected at least 1 shard, found \(shardCount)") }
    if let bad = tileCosts.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
      throw CheckpointError(.badInput, "shard plan: tile \(bad) has cost \(tileCosts[bad]), expected a finite number ≥ 0")
    }
    var prefix = [Double](repeating: 0, count: tileCosts.count + 1)
    for (i, cost) in tileCosts.enumerated() { prefix[i + 1] = prefix[i] + cost }
    let total = prefix[tileCosts.count]
    var bounds = [0]
    var cursor = 0
    for k in 1..<shardCount {
      let target = total * Double(k) / Double(shardCount)
      // First boundary b ≥ cursor with prefix[b] ≥ target, then the nearer of b−1 and b.
      var low = cursor, high = tileCosts.count
      while low < high {
        let mid = (low + high) / 2
        if prefix[mid] < target { low = mid + 1 } else { high = mid }
      }
      var b = low
      if b > cursor, target - prefix[b - 1] <= prefix[b] - target { b -= 1 }
      // Equal costs everywhere (e.g. all zero): split by count so the shards still share the work.
      if total == 0 { b = tileCosts.count * k / shardCount }
      cursor = max(cursor, b)
      bounds.append(cursor)
    }
    bounds.append(tileCosts.count)
    self.shardCount = shardCount
    ranges = (0..<shardCount).map { bounds[$0]..<bounds[$0 + 1] }
    costs = ranges.map { prefix[$0.upperBound] - prefix[$0.lowerBound] }
  }

  /// The tiles of `shard`.
  public func tiles(of shard: ShardSpec) -> Range<Int> {
    precondition(shard.count == shardCount, "shard \(shard) of a plan with \(shardCount) shards")
    return ranges[shard.index]
  }

  /// max/mean of the shards' costs (1 = perfect balance); 1 when the total cost is 0.
  public var balance: Double {
    let mean = costs.reduce(0, +) / Double(shardCount)
    return mean > 0 ? (costs.max() ?? 0) / mean : 1
  }
}
