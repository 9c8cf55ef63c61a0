import Foundation
import Storage

/// One writing session on a run directory: holds the lock, knows what the journal already has,
/// and appends to this session's new segment.
///
/// Opening (`RunSession.open`) creates the layout, takes the lock, replays the journal, refuses
/// a different identity, records the manifest, removes temporary files left by crashed sessions,
/// and starts segment `replay.nextSession` with its header — at once, or (`deferSegment`, for a
/// run whose journal already has a header, and a shard that already wrote a segment) only when
/// the session has something to record, so a session with nothing to do (a finished run or shard
/// run again, a `repair` that finds nothing) writes no segment.
public final class RunSession {
  /// The run directory.
  public let run: RunDirectory
  /// The identity, equal to the journal's.
  public let identity: RunIdentity
  /// Fields in which the manifest given differs from `RUN/manifest.json` only by location
  /// (`ManifestDifference.isRelocation`: data, weights or manifest moved, or the name), each with
  /// `(run has …, now …)`; empty when it is the same. The session resumed; RUN/manifest.json now
  /// has the new values.
  public private(set) var relocated: [String] = []
  /// What was wrong with `RUN/manifest.json` (missing, damaged) when the session rewrote it from
  /// the manifest given, whose canonical hash is the journal's; `nil` when it was intact.
  public private(set) var restoredManifest: String?
  /// This session's header.
  public let header: JournalHeader
  /// Tiles journaled so far (by index), including this session's (and, after `refresh()`, other
  /// shards' since the session opened).
  public private(set) var journaled: [Int: TileRecord]
  /// Tiles withdrawn when the session opened because their object — the newest of a previous
  /// session — was missing or damaged (a disk that lost data after acknowledging `fsync`); they
  /// are computed again like any missing tile.
  public private(set) var recovered: [TileDrop] = []
  private let lock: RunLock
  /// Segments of this session's writer that ended before their header (a session that crashed
  /// while starting), set aside when this session started its own segment
  /// (`Journal.setAsideHeaderlessSegments(of:)`): otherwise they would read as damage once a
  /// later segment of the writer exists.
  public var setAsideSegments: [Journal.SetAsideSegment] { writer?.setAsideSegments ?? [] }
  /// This session's segment, `nil` until it is started (`beginSegment`).
  private var writer: JournalWriter?
  private var closed = false

  private init(run: RunDirectory, identity: RunIdentity, header: JournalHeader, journaled: [Int: TileRecord], lock: RunLock) {
    self.run = run
    self.identity = identity
    self.header = header
    self.journaled = journaled
    self.lock = lock
  }

  deinit { close() }

  /// Opens a writing session.
  ///
  /// - Parameters:
  ///   - manifestJSON: bytes for `RUN/manifest.json` (e.g. `Manifest.prettyJSON()`), written if
  ///     the file is absent; `nil` writes nothing.
  ///   - heldLock: the run's lock if the caller already holds it (`repair`); taken here otherwise.
  ///     The session releases it when it closes.
  ///   - shard: the shard this session computes (`nil`: the whole plan). A shard takes its own
  ///     lock (`RUN/lock.shard-K-of-N`), writes a segment named after it and a random session id,
  ///     and leaves temporary files alone (another shard may be writing them; `repair` removes
  ///     them). Journaled tiles are the union of every shard's segments.
  ///   - shardTiles: the shard's tile range, recorded in its header (for `status`).
  ///   - deferSegment: when the journal already has a header (the identity is recorded) and, for
  ///     a shard, a segment of that shard, start this session's segment only at its first record
  ///     or `beginSegment()`; otherwise it is started here: a new run's identity is journaled
  ///     before anything else is written, and a shard's first session shows in `status`.
  /// - Throws: `CheckpointError`: `.locked` (another writer, named; a whole-plan session while a
  ///   shard runs, a shard while a whole-plan writer runs), `.identityMismatch` (saying
  ///   which hash or parameter differs), `.damaged` (journal), `.failure` (I/O).
  public static func open(run: RunDirectory, identity: RunIdentity, manifestJSON: [UInt8]?, heldLock: RunLock? = nil,
                          shard: ShardSpec? = nil, shardTiles: Range<Int>? = nil, deferSegment: Bool = false) throws -> RunSession {
    try run.createLayout()
    let lock = try heldLock ?? run.lock(shard: shard)
    do { try refuseOtherKindOfWriter(run: run, shard: shard) } catch { if heldLock == nil { lock.release() }; throw error }
    let replay = try run.journal.replay()
    let savedProblem = manifestProblem(run: run)
    let (identity, relocated) = try reconcile(identity, with: replay, run: run, manifestJSON: manifestJSON, savedProblem: savedProblem)
    let plan = try identity.plan()
    for record in replay.tiles.values {
      guard record.index < plan.tiles.count, plan.tiles[record.index].rowBlock == record.rowBlock,
            plan.tiles[record.index].columnBlock == record.columnBlock,
            plan.tiles[record.index].rawByteCount == record.rawByteCount else {
        throw CheckpointError(.damaged, "\(run.journalDirectory): tile record \(record.index) (I=\(record.rowBlock), J=\(record.columnBlock)) does not match the plan; `ntkbatch repair` removes it")
      }
    }
    var restoredManifest: String?
    if let manifestJSON, savedProblem != nil || FileManager.default.contents(atPath: run.manifestPath) != Data(manifestJSON) {
      // The manifest given is this computation's (the journal's identity, moved or not, or a run
      // with no identity recorded yet), and RUN/manifest.json is missing, damaged or says
      // something else — other locations (moved, or moved back: what assemble's input guard and
      // `run RUN/manifest.json` go by), or what an earlier version wrote: rewritten.
      try run.writeManifest(manifestJSON)
      if relocated.isEmpty, replay.identity != nil, let savedProblem { restoredManifest = savedProblem }
    }
    if shard == nil, run.shardLockPaths().allSatisfy({ RunLock.currentHolder(path: $0) == nil }) {
      _ = try CheckpointError.wrapping { try run.objects.removeTemporaryFiles() }
    }
    let header = JournalHeader(identity: identity, session: replay.nextSession, host: RunLock.hostName(),
                               pid: Int(ProcessInfo.processInfo.processIdentifier),
                               startTime: ISO8601DateFormatter().string(from: Date()),
                               shard: shard, sessionID: shard == nil ? nil : String(format: "%08x", UInt32.random(in: 0...UInt32.max)),
                               shardTiles: shard == nil ? nil : shardTiles, ntkbatchVersion: NTKBatchVersion.current)
    let session = RunSession(run: run, identity: identity, header: header, journaled: replay.tiles, lock: lock)
    // Deferred only when the journal already records the identity and, for a shard, a session of
    // this shard: a shard's first header is how `status` knows it ran (its range, host and time).
    let shardKnown = shard == nil || replay.segments.contains { $0.shard == shard }
    if !deferSegment || replay.identity == nil || !shardKnown { try session.beginSegment() }
    session.relocated = relocated
    session.restoredManifest = restoredManifest
    try session.recoverNewestTiles(of: replay)
    return session
  }

  /// What `open` and `refuseForeign` check against the journal: `identity` compared with the
  /// recorded one. A run moved (only locations in the manifest differ from `RUN/manifest.json`)
  /// keeps the recorded manifest hash and lists the moved fields — also when it is the
  /// journal's manifest again but `RUN/manifest.json` has the locations of an earlier move.
  ///
  /// - Throws: `CheckpointError` (`.identityMismatch`) naming what differs.
  static func reconcile(_ identity: RunIdentity, with replay: JournalReplay, run: RunDirectory, manifestJSON: [UInt8]?,
                        savedProblem: String?) throws -> (identity: RunIdentity, relocated: [String]) {
    var identity = identity
    var relocated: [String] = []
    if let recorded = replay.identity {
      var differences = identity.differences(from: recorded)
      if identity.manifestHash != recorded.manifestHash, let manifestJSON {
        if savedProblem == nil, let saved = FileManager.default.contents(atPath: run.manifestPath),
           let fields = ManifestDifference.all(recorded: saved, current: Data(manifestJSON)) {
          if ManifestDifference.isRelocation(fields) {
            if differences.count == 1 {
              // Only where the data, weights or manifest are (their contents are the identity's
              // other hashes) or the run's name: the same computation, moved. The journal keeps its
              // identity; RUN/manifest.json is rewritten below with the new locations (none differ
              // when it already has them: a run moved before).
              identity.manifestHash = recorded.manifestHash
              relocated = fields.map { "\($0.path) \($0.detail)" }
              differences = []
            } else {
              // Moved, but the data or weights themselves differ: name those hashes only.
              differences.removeAll { $0.hasPrefix("manifest hash") }
            }
          } else if let field = ManifestDifference.firstNotALocation(fields) {
            differences = differences.map { $0.hasPrefix("manifest hash") ? "\($0): first differing field \(field.path) \(field.detail)" : $0 }
          }
        } else if let savedProblem {
          differences = differences.map {
            $0.hasPrefix("manifest hash") ? "\($0); \(savedProblem), so a moved run cannot be told from another computation: run once with the run's own manifest to rewrite it" : $0
          }
        }
      }
      if identity.manifestHash == recorded.manifestHash, relocated.isEmpty, savedProblem == nil, let manifestJSON,
         let saved = FileManager.default.contents(atPath: run.manifestPath),
         let fields = ManifestDifference.all(recorded: saved, current: Data(manifestJSON)) {
        // The journal's own manifest, while RUN/manifest.json has other locations: a run moved
        // (RUN/manifest.json rewritten then) whose files are back where they were at first.
        relocated = fields.filter { ManifestDifference.locations.contains($0.path) }.map { "\($0.path) \($0.detail)" }
      }
      if !differences.isEmpty {
        throw CheckpointError(.identityMismatch, "\(run.path): this run directory holds another computation; refusing to resume: different \(differences.joined(separator: "; ")). Use a new run directory")
      }
    }
    return (identity, relocated)
  }

  /// Throws what `open` would refuse for `run` and `identity` — not a run directory
  /// (`RunDirectory.refuseForeignContents`), or a run directory of another computation
  /// (`.identityMismatch`) — without creating, locking or writing anything (`ntkbatch slurm`).
  public static func refuseForeign(run: RunDirectory, identity: RunIdentity, manifestJSON: [UInt8]?) throws {
    try run.refuseForeignContents()
    guard SystemFile.kind(of: run.journalDirectory).exists else { return }
    _ = try reconcile(identity, with: try run.journal.replay(), run: run, manifestJSON: manifestJSON, savedProblem: manifestProblem(run: run))
  }

  /// What is wrong with `RUN/manifest.json`, one phrase starting with its path — `RUN/manifest.json:
  /// missing`, or the manifest reader's error (garbled, truncated, not a manifest) — or `nil` when
  /// it reads as a manifest. `verify` names it; `run` rewrites it when the manifest given is the
  /// journal's (same canonical hash).
  public static func manifestProblem(run: RunDirectory) -> String? {
    guard SystemFile.kind(of: run.manifestPath).exists else { return "\(run.manifestPath): missing" }
    do {
      let bytes = try FileBytes.read(path: run.manifestPath)
      _ = try Manifest.parse(bytes, file: run.manifestPath, knownModels: nil, knownDatasets: nil)
      return nil
    } catch {
      let message = "\(error)"
      return message.hasPrefix(run.manifestPath + ": ") ? message : "\(run.manifestPath): \(message)"
    }
  }

  /// A whole-plan session and shards would compute the same tiles twice: a whole-plan session is
  /// refused while a shard of this directory holds its lock, and a shard while the run's lock is
  /// held (a whole-plan `run`, `repair`, `train`). Each side checks after taking its own lock, so
  /// of two starting at once at least one sees the other. (Locks are seen on this machine only;
  /// across machines `flock` may do nothing — see docs/durability.md.)
  private static func refuseOtherKindOfWriter(run: RunDirectory, shard: ShardSpec?) throws {
    if let shard {
      if let holder = RunLock.currentHolder(path: run.lockPath) {
        throw CheckpointError(.locked, "\(run.lockPath): the whole run is being written by \(holder); shard \(shard) would compute the same tiles: wait for it to finish")
      }
    } else if let (path, holder) = run.currentWriters().first(where: { $0.lock != run.lockPath }) {
      throw CheckpointError(.locked, "\(path): a shard is being written by \(holder); a run without --shard would compute its tiles again: wait for the shards, or run another shard (--shard K/N)")
    }
  }

  /// Checks the object of every segment's last tile record (the one written just before that
  /// session ended or crashed) and drops the tile if the object is missing or damaged. A shard
  /// checks only its own earlier segments: other shards may be writing right now, on other
  /// machines whose objects this client may not see yet.
  private func recoverNewestTiles(of replay: JournalReplay) throws {
    for segment in replay.segments where header.shard == nil || segment.shard == header.shard {
      guard let last = segment.lastTile, journaled[last.index]?.object == last.object else { continue }
      let reason: String
      switch run.objects.condition(of: last.object, rawByteCount: last.rawByteCount) {
      case .intact: continue
      case .missing: reason = "object \(run.objects.path(for: last.object)) of the newest tile of \(segment.path) is missing"
      case .damaged(let why): reason = why
      }
      let drop = TileDrop(index: last.index, rowBlock: last.rowBlock, columnBlock: last.columnBlock, object: last.object, reason: reason)
      try self.drop(drop)
      recovered.append(drop)
    }
  }

  /// Re-reads the journal and adds the tiles other writers (shards) journaled since the session
  /// opened, so that a tile finished by anyone is not computed again.
  ///
  /// - Throws: `CheckpointError` (`.damaged`, `.failure`) as `Journal.replay()`.
  public func refresh() throws {
    for (index, record) in try run.journal.replay().tiles where journaled[index] == nil {
      journaled[index] = record
    }
  }

  /// Starts this session's segment (creates it, writes and fsyncs the header) unless it is
  /// started already; `record` and `drop` start it themselves. `Journal.beginSession` first sets
  /// aside this writer's segments that end before their header (`setAsideSegments`).
  ///
  /// - Throws: `CheckpointError` (`.failure`) on I/O errors, or if the session is closed.
  @discardableResult
  public func beginSegment() throws -> JournalWriter {
    if let writer { return writer }
    guard !closed else { throw CheckpointError(.failure, "\(run.journal.segmentPath(of: header)): the session is closed") }
    let started = try run.journal.beginSession(header)
    writer = started
    return started
  }

  /// Appends (and fsyncs) the record of a finished tile whose object is already durable.
  ///
  /// - Throws: `CheckpointError` (`.damaged`) if the tile is already journaled, (`.failure`) on I/O errors.
  public func record(_ record: TileRecord) throws {
    if journaled[record.index] != nil {
      throw CheckpointError(.damaged, "\(run.journal.segmentPath(of: header)): tile \(record.index) (I=\(record.rowBlock), J=\(record.columnBlock)) is already journaled")
    }
    try beginSegment().append(record)
    journaled[record.index] = record
  }

  /// Withdraws a journaled tile (its object is missing or damaged) so that it is computed again.
  ///
  /// - Throws: `CheckpointError` (`.badInput`) if the tile is not journaled with that object,
  ///   (`.failure`) on I/O errors.
  public func drop(_ drop: TileDrop) throws {
    guard journaled[drop.index]?.object == drop.object else {
      throw CheckpointError(.badInput, "\(run.journal.segmentPath(of: header)): tile \(drop.index) is not journaled with object \(drop.object.hex)")
    }
    try beginSegment().append(drop)
    journaled[drop.index] = nil
  }

  /// Ends the session: closes the segment and releases the lock.
  public func close() {
    guard !closed else { return }
    closed = true
    writer?.close()
    lock.release()
  }
}
