/// Where a run stands, reported by `TileRunner` after every tile.
///
/// Work is counted in sample pairs (i ≤ j) of the upper triangle — n(n+1)/2 in all, `Tile.samplePairs`
/// per tile — since diagonal tiles are half the work of the others.
public struct RunProgress: Codable, Equatable, Sendable {
  /// Tiles journaled (all sessions).
  public var tilesDone: Int
  /// Tiles in the plan (or in the runner's share of it).
  public var tilesTotal: Int
  /// Sample pairs covered by journaled tiles.
  public var pairsDone: Int
  /// Sample pairs in the plan (or share).
  public var pairsTotal: Int
  /// Tiles computed in this session.
  public var tilesThisSession: Int
  /// Seconds since this session's runner started.
  public var elapsedSeconds: Double
  /// Sample pairs per second in this session (0 before the first tile).
  public var pairsPerSecond: Double
  /// Tiles per second in this session (0 before the first tile).
  public var tilesPerSecond: Double
  /// Estimated seconds to finish: sample pairs left at the rate of this session's last
  /// `TileRunner.etaWindowTiles` tiles (`nil` before the first tile).
  public var etaSeconds: Double?
  /// The tile just finished (`nil` in the first report).
  public var lastTile: Tile?
}
