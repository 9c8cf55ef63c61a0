import Foundation
import Storage

/// Brings a run directory back to a verified state, as a writer (under the lock, in a session of
/// its own), in three steps:
///
/// 1. Damaged journal records (a checksum failure followed by more data, an impossible length)
///    are removed from their segment, after its original bytes are kept as
///    `segment-NNNNNN.log.damaged` (`Journal.salvage()`): reading resynchronises on the next valid
///    record, so only the damaged records' tiles are computed again by the next `run`.
/// 2. Journaled tiles whose object is missing, damaged or holds NaN/±Inf get a `TileDrop` record,
///    so the next `run` computes them again.
/// 3. Orphan objects (named by no record, including the damaged objects of dropped tiles),
///    temporary files left by crashed writes, and the temporary outputs of killed `assemble`s
///    recorded in `RUN/assembling` (`AssemblyLeftovers`) are removed. Stray files under
///    `objects/` (names ntkbatch never writes) are reported and kept: repair never deletes a
///    file it did not write.
/// 4. Duplicate records (a tile journaled again with the same object, e.g. by two copies of a
///    shard) are removed from their segments (`Journal.removeDuplicates()`); a tile journaled
///    again with a *different* object (overlapping shards run with different
///    `OPENBLAS_NUM_THREADS`: equal to rounding) keeps its earliest record, the later ones are
///    withdrawn (`Journal.withdrawConflicts()`) and their objects removed as orphans.
///
/// Repair must run while no shard writes (it removes objects not yet journaled): it takes the
/// run's lock and refuses while any shard lock on this machine is held; on a cluster, run it when
/// the job array has ended.
public enum RunRepair {
  /// What `repair` changed.
  public struct Report: Codable, Equatable, Sendable {
    /// Journal segments cut at a damaged record (their originals kept as `….damaged`).
    public var cutSegments: [Journal.Cut]
    /// Tiles withdrawn from the journal (to be recomputed).
    public var droppedTiles: [VerificationReport.Problem]
    /// Orphan objects removed (including the damaged objects of dropped tiles).
    public var removedOrphans: [ContentHash]
    /// Temporary files removed.
    public var removedTemporaryFiles: [String]
    /// Stray files under `objects/` (neither object names nor temporary files): reported, kept.
    public var keptStrayFiles: [String] = []
    /// Duplicate journal records removed, per segment.
    public var removedDuplicates: [Journal.DuplicateRemoval] = []
    /// Later records of tiles journaled earlier with another object, withdrawn (the earliest kept).
    public var withdrawnConflicts: [Journal.ConflictWithdrawal] = []
    /// A damaged `RUN/logits.npy` removed (the next `run` writes it again): why it was damaged.
    public var removedLogits: String? = nil
    /// Cross runs: damaged `columns-logits.npy` / `columns-labels.npy` removed (`run` writes them again).
    public var removedColumnsFiles: [VerificationReport.ColumnsFileProblem] = []
    /// A damaged `RUN/labels.npy` removed (the next `run` writes it again): why it was damaged.
    public var removedLabels: String? = nil
    /// A damaged `RUN/checksums.json` removed (the next `run` computes the derived files and
    /// records their checksums again): why it was damaged.
    public var removedChecksums: String? = nil
    /// `RUN/manifest.json` missing or damaged (`RunSession.manifestProblem`): repair cannot
    /// rewrite it (it has no manifest); `run` with the run's manifest does.
    public var manifestProblem: String? = nil
    /// Damaged training state set aside (`latest.json.damaged`), so `run` trains again: what was wrong.
    public var setAsideTraining: String? = nil

    /// Whether anything was changed.
    public var changedAnything: Bool {
      !cutSegments.isEmpty || !droppedTiles.isEmpty || !removedOrphans.isEmpty || !removedTemporaryFiles.isEmpty
        || !removedDuplicates.isEmpty || !withdrawnConflicts.isEmpty || removedLogits != nil || removedLabels != nil || removedChecksums != nil || !removedColumnsFiles.isEmpty || setAsideTraining != nil
    }
  }

  /// Repairs `run`.
  ///
  /// - Parameter progress: the check of the journaled tiles' objects (`RunVerifier.verify`),
  ///   called before the first object and after each; not called when the journal has no header.
  /// - Throws: `CheckpointError`: `.badInput` (not a run directory), `.locked` (a writer is
  ///   running, named), `.damaged` (the journal still does not replay after cutting damaged
  ///   records, e.g. headers of different runs), `.failure` (I/O).
  public static func repair(run: RunDirectory, progress: (RunVerifier.Progress) -> Void = { _ in }) throws -> Report {
    try run.requireExisting()
    let lock = try run.lock()
    defer { lock.release() }
    if let (path, holder) = run.currentWriters().first(where: { $0.lock != run.lockPath }) {
      throw CheckpointError(.locked, "\(path): a shard is being written by \(holder); repair only when no shard is running")
    }
    let cuts = try run.journal.salvage() + run.journal.setAsideUnprovable()
    let conflicts = try run.journal.withdrawConflicts()
    let duplicates = try run.journal.removeDuplicates()
    let temporaries = try CheckpointError.wrapping { try run.objects.temporaryFiles() } + AssemblyLeftovers.removeStale(run: run)
      + RunRootTemporaries.removeStale(in: run)
    let strays = try CheckpointError.wrapping { try run.objects.strayFiles() }
    let training = try TrainingCheckpointStore(run: run).setAsideIfDamaged(epochs: TrainingCheckpointStore.recordedEpochs(run: run),
                                                                               targetAccuracy: TrainingCheckpointStore.recordedTargetAccuracy(run: run))
    let checksums = DerivedChecksums.problem(in: run)
    if checksums != nil {
      try CheckpointError.wrapping { try SystemFile.remove(path: DerivedChecksums.path(in: run)) }
    }
    let manifestProblem = RunSession.manifestProblem(run: run)
    guard let identity = try run.journal.replay().identity else {
      try CheckpointError.wrapping { _ = try run.objects.removeTemporaryFiles() }
      return Report(cutSegments: cuts, droppedTiles: [], removedOrphans: [], removedTemporaryFiles: temporaries, keptStrayFiles: strays, removedDuplicates: duplicates,
                    withdrawnConflicts: conflicts, removedChecksums: checksums, manifestProblem: manifestProblem, setAsideTraining: training)
    }
    // Opening the session (under the lock already held) removes the temporary files and drops
    // the newest tiles whose objects are gone (`RunSession.recovered`).
    var removedLogits: String?
    var removedLabels: String?
    // Its segment is written only if a tile is dropped: a repair that finds nothing adds none.
    let session = try RunSession.open(run: run, identity: identity, manifestJSON: nil, heldLock: lock, deferSegment: true)
    defer { session.close() }
    let recovered = session.recovered.map { drop in
      VerificationReport.Problem(index: drop.index, rowBlock: drop.rowBlock, columnBlock: drop.columnBlock, object: drop.object,
                                 missing: !FileManager.default.fileExists(atPath: run.objects.path(for: drop.object)),
                                 reason: drop.reason)
    }
    let report = try RunVerifier.verify(run: run, progress: progress)
    if let problem = report.logitsProblem {
      try CheckpointError.wrapping { try SystemFile.remove(path: LogitsFile.path(in: run)) }
      removedLogits = problem
    }
    if let problem = report.labelsProblem {
      try CheckpointError.wrapping { try SystemFile.remove(path: LabelsFile.path(in: run)) }
      removedLabels = problem
    }
    for file in report.columnsFileProblems {
      try CheckpointError.wrapping { try SystemFile.remove(path: run.path + "/" + file.name) }
    }
    for problem in report.problems {
      try session.drop(TileDrop(index: problem.index, rowBlock: problem.rowBlock, columnBlock: problem.columnBlock,
                                object: problem.object, reason: problem.reason))
    }
    let named = Set(session.journaled.values.map(\.object))
    var removed: [ContentHash] = []
    for hash in try CheckpointError.wrapping({ try run.objects.list() }) where !named.contains(hash) {
      try CheckpointError.wrapping { try run.objects.remove(hash) }
      removed.append(hash)
    }
    return Report(cutSegments: cuts, droppedTiles: (recovered + report.problems).sorted { $0.index < $1.index }, removedOrphans: removed, removedTemporaryFiles: temporaries,
                  keptStrayFiles: strays, removedDuplicates: duplicates, withdrawnConflicts: conflicts, removedLogits: removedLogits,
                  removedColumnsFiles: report.columnsFileProblems, removedLabels: removedLabels, removedChecksums: checksums,
                  manifestProblem: manifestProblem, setAsideTraining: training)
  }
}
