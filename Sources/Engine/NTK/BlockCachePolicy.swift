/// Which Jacobian blocks `TileSource` keeps between tiles, and so which it computes again — the
/// one owner of that rule, followed by `TileSource` as it computes and by `computations(of:…)`
/// for `check`'s cost estimate. Blocks are named by their sample ranges.
///
/// Square eNTK, tiles row by row (I, then J ≥ I, as `TilePlan` orders them):
/// - the row block I is kept for every tile of row I;
/// - a column block J > I (its samples start after the row block's), once computed, is cached
///   while the cached blocks' bytes stay within `cacheBytes` (it is used again in rows I+1 … J,
///   and becomes row J's row block); blocks J ≤ I are never needed by later rows and are evicted
///   when row I starts.
/// With the whole upper triangle in order, each block is computed once if the cache holds all
/// blocks, and at most `b(b+1)/2` times (the uncached method) otherwise.
///
/// Cross kernels: each row block is computed once for its row; column blocks are cached (within
/// `cacheBytes`) across all rows — every row uses every column block — and never evicted.
public struct BlockCachePolicy: Sendable {
  /// Bound on the bytes of cached column blocks (the row block and the current column block are
  /// not counted: they are part of the working set).
  public let cacheBytes: Int
  /// Whether rows and columns are different samples (a cross kernel).
  public let isCross: Bool
  /// The current row block.
  public private(set) var row: Range<Int>?
  /// The cached column blocks with their bytes.
  public private(set) var cached: [Range<Int>: Int] = [:]
  private var cachedBytes = 0

  public init(cacheBytes: Int, isCross: Bool) {
    self.cacheBytes = max(0, cacheBytes)
    self.isCross = isCross
  }

  /// What becomes of a row block asked for.
  public enum RowStart: Equatable {
    /// It is the current row block (no change).
    case current
    /// A new row: computed, or (`fromCache`) taken out of the cache; `evicted` are the cached
    /// blocks no later row needs (`fromCache` included), to be released.
    case started(fromCache: Bool, evicted: [Range<Int>])
  }

  /// A tile of row block `samples` is asked for.
  public mutating func startRow(_ samples: Range<Int>) -> RowStart {
    if row == samples { return .current }
    row = samples
    if isCross { return .started(fromCache: false, evicted: []) }  // columns are other samples
    let evicted = cached.keys.filter { $0.lowerBound <= samples.lowerBound }.sorted { $0.lowerBound < $1.lowerBound }
    for key in evicted { cachedBytes -= cached.removeValue(forKey: key) ?? 0 }
    return .started(fromCache: evicted.contains(samples), evicted: evicted)
  }

  /// Whether column block `samples` is in the cache.
  public func isCached(_ samples: Range<Int>) -> Bool { cached[samples] != nil }

  /// Column block `samples` (`bytes` bytes) was just computed: whether to keep it in the cache
  /// (recorded as kept if so).
  public mutating func admit(_ samples: Range<Int>, bytes: Int) -> Bool {
    guard isCross || samples.lowerBound > (row?.lowerBound ?? -1), cachedBytes + bytes <= cacheBytes else { return false }
    cached[samples] = bytes
    cachedBytes += bytes
    return true
  }

  /// The blocks computed, in order (their sample ranges), when `tiles` are computed in this order
  /// from a fresh cache of `cacheBytes`, a block of s samples taking `bytes(s)` bytes — what
  /// `TileSource` does with the same tiles (`statistics.blocksComputed` is their count). A tile
  /// with `rows == columns` of a square eNTK is diagonal: its column block is the row block.
  public static func computations(of tiles: [(rows: Range<Int>, columns: Range<Int>)], isCross: Bool, cacheBytes: Int,
                                  bytes: (Int) -> Int) -> [Range<Int>] {
    var policy = BlockCachePolicy(cacheBytes: cacheBytes, isCross: isCross)
    var computed: [Range<Int>] = []
    for tile in tiles {
      if case .started(fromCache: false, _) = policy.startRow(tile.rows) { computed.append(tile.rows) }
      if !isCross && tile.rows == tile.columns || policy.isCached(tile.columns) { continue }
      computed.append(tile.columns)
      _ = policy.admit(tile.columns, bytes: bytes(tile.columns.count))
    }
    return computed
  }
}
