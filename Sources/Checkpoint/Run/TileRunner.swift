import Foundation
import Storage

/// Computes the tiles the journal does not have yet, in plan order, durably:
///
///     compute (raw little-endian bytes [nI·m, nJ·m] row-major) → ObjectStore.put (temp, fsync,
///     rename, fsync dir) → journal append (fsync) → progress
///
/// A tile counts as done only once its record is synced, and a journaled tile is never computed
/// again. `shouldStop` is checked before each tile (SIGINT/SIGTERM handlers set a flag it reads),
/// so a stop request between tiles returns `.stopped`; a tile computer that abandons the tile in
/// progress throws, and nothing of that tile is stored or journaled.
public final class TileRunner {
  /// The session the runner writes to.
  public let session: RunSession
  /// The plan (must match the session's identity).
  public let plan: TilePlan
  /// Indices of the tiles this runner is responsible for (all by default; a shard's share otherwise).
  public let share: [Int]
  /// Where finished tiles go: the run's object store, compressing with `compressionWorkers`
  /// threads (`ZstdCodec.workers`; tiles are compressed between two tiles' computations, when the
  /// BLAS threads are idle).
  let objects: ObjectStore

  /// How a `run` call ended.
  public enum Outcome: Equatable, Sendable {
    /// Every tile of the share is journaled.
    case completed(RunProgress)
    /// `shouldStop` returned true; the run can be resumed.
    case stopped(RunProgress)
  }

  /// A runner over `share` (default: every tile of `plan`) that compresses tiles with
  /// `compressionWorkers` threads (0: on the calling thread; `run` passes its BLAS thread count).
  ///
  /// - Throws: `CheckpointError` (`.badInput`) if the plan is not the session's, or the share
  ///   names a tile outside the plan.
  public init(session: RunSession, plan: TilePlan, share: [Int]? = nil, compressionWorkers: Int = 0) throws {
    let expected = try session.identity.plan()
    guard expected == plan else {
      throw CheckpointError(.badInput, "\(session.run.path): the tile plan does not match the run's identity")
    }
    let indices = share ?? Array(plan.tiles.indices)
    if let bad = indices.first(where: { !plan.tiles.indices.contains($0) }) {
      throw CheckpointError(.badInput, "\(session.run.path): tile index \(bad) is outside the plan (0..<\(plan.tiles.count))")
    }
    self.session = session
    self.plan = plan
    self.share = indices
    self.objects = ObjectStore(root: session.run.objectsDirectory, codec: ZstdCodec(workers: Int32(max(0, compressionWorkers))))
  }

  /// Tiles whose rate gives the ETA: the last 16 (all of the session's before that). A run with
  /// cached blocks computes most block Jacobians during its first row of tiles; the session's
  /// average rate would carry that into every later estimate, the recent rate leaves it behind.
  public static let etaWindowTiles = 16

  /// Runs the missing tiles.
  ///
  /// - Parameters:
  ///   - compute: returns the raw tile, `tile.rawByteCount` bytes (`[UInt8]`, or the tile's values
  ///     themselves, e.g. `[Float]`, stored without a copy); its errors are rethrown unchanged.
  ///   - progress: called once before the first tile and after every tile.
  ///   - shouldStop: checked before each tile.
  ///   - abandonStoring: checked while a tile's object is written (`ObjectStore.put(_:abandonIf:)`,
  ///     between pieces of its frame): `true` abandons that tile (no object, no record) and the
  ///     run stops as by `shouldStop` (a stop request during the storing of a huge tile).
  ///   - refreshSeconds: with concurrent writers (shards), re-read the journal this often
  ///     (`RunSession.refresh()`) so tiles another writer journaled are skipped; `nil`: never.
  ///   - commit: wraps storing the object and appending its record (e.g. to hold off a forced
  ///     exit until the record is durable).
  /// - Throws: the tile computer's errors; `CheckpointError` (`.failure`) for a wrong tile size or
  ///   an I/O error (ENOSPC, EIO: every tile journaled before it is kept).
  public func run<Bytes: ContiguousBytes>(compute: (Tile) throws -> Bytes,
                  progress: (RunProgress) -> Void = { _ in },
                  shouldStop: () -> Bool = { false },
                  abandonStoring: () -> Bool = { false },
                  refreshSeconds: Double? = nil,
                  commit: (() throws -> Void) throws -> Void = { try $0() }) throws -> Outcome {
    let start = DispatchTime.now().uptimeNanoseconds
    let pairsTotal = share.reduce(0) { $0 + plan.tiles[$1].samplePairs }
    var state = RunProgress(tilesDone: 0, tilesTotal: share.count, pairsDone: 0, pairsTotal: pairsTotal,
                            tilesThisSession: 0, elapsedSeconds: 0, pairsPerSecond: 0, tilesPerSecond: 0,
                            etaSeconds: nil, lastTile: nil)
    for index in share where session.journaled[index] != nil {
      state.tilesDone += 1
      state.pairsDone += plan.tiles[index].samplePairs
    }
    var pairsThisSession = 0
    // (uptime ns, pairsThisSession) after each of the last `etaWindowTiles` tiles, oldest first.
    var recent: [(nanoseconds: UInt64, pairs: Int)] = [(start, 0)]
    progress(state)
    var lastRefresh = start
    for (position, index) in share.enumerated() where session.journaled[index] == nil {
      if shouldStop() { return .stopped(state) }
      if let refreshSeconds, Double(DispatchTime.now().uptimeNanoseconds - lastRefresh) / 1e9 >= refreshSeconds {
        lastRefresh = DispatchTime.now().uptimeNanoseconds
        let before = Set(session.journaled.keys)
        try session.refresh()
        for other in share[position...] where session.journaled[other] != nil && !before.contains(other) {
          state.tilesDone += 1
          state.pairsDone += plan.tiles[other].samplePairs
        }
        if session.journaled[index] != nil { continue }
      }
      let tile = plan.tiles[index]
      let computeStart = DispatchTime.now().uptimeNanoseconds
      let raw = try compute(tile)
      let computeSeconds = Double(DispatchTime.now().uptimeNanoseconds - computeStart) / 1e9
      let rawByteCount = raw.withUnsafeBytes { $0.count }
      guard rawByteCount == tile.rawByteCount else {
        throw CheckpointError(.failure, "tile \(tile.index) (I=\(tile.rowBlock), J=\(tile.columnBlock)): the tile computer returned \(Plural.count(rawByteCount, "byte")), expected \(tile.rawByteCount)")
      }
      var abandoned = false
      try withoutActuallyEscaping(abandonStoring) { abandon in
        try commit {
          guard let stored = try CheckpointError.wrapping({ try raw.withUnsafeBytes { try objects.put($0, abandonIf: abandon) } }) else {
            abandoned = true
            return
          }
          try session.record(TileRecord(index: tile.index, rowBlock: tile.rowBlock, columnBlock: tile.columnBlock,
                                        object: stored.hash, rawByteCount: stored.rawByteCount,
                                        storedByteCount: stored.storedByteCount, computeSeconds: computeSeconds,
                                        finishedAt: ISO8601DateFormatter().string(from: Date())))
        }
      }
      if abandoned { return .stopped(state) }
      state.tilesDone += 1
      state.pairsDone += tile.samplePairs
      state.tilesThisSession += 1
      pairsThisSession += tile.samplePairs
      state.elapsedSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      if state.elapsedSeconds > 0 {
        state.pairsPerSecond = Double(pairsThisSession) / state.elapsedSeconds
        state.tilesPerSecond = Double(state.tilesThisSession) / state.elapsedSeconds
      }
      let now = DispatchTime.now().uptimeNanoseconds
      recent.append((now, pairsThisSession))
      if recent.count > Self.etaWindowTiles + 1 { recent.removeFirst() }
      let windowSeconds = Double(now - recent[0].nanoseconds) / 1e9
      let windowRate = windowSeconds > 0 ? Double(pairsThisSession - recent[0].pairs) / windowSeconds : 0
      state.etaSeconds = windowRate > 0 ? Double(state.pairsTotal - state.pairsDone) / windowRate : nil
      state.lastTile = tile
      progress(state)
    }
    return .completed(state)
  }
}
