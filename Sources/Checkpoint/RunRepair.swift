import Storage

/// Brings a run directory back to a verified state, as a writer (under the lock, in a session of
/// its own): journaled tiles whose object is missing or damaged get a `TileDrop` record (so the
/// next `run` computes them again); orphan objects (named by no record) and temporary files are
/// removed.
public enum RunRepair {
  /// What `repair` changed.
  public struct Report: Codable, Equatable, Sendable {
    /// Tiles withdrawn from the journal (to be recomputed).
    public var droppedTiles: [VerificationReport.Problem]
    /// Orphan objects removed (including the damaged objects of dropped tiles).
    public var removedOrphans: [ContentHash]
    /// Temporary files removed.
    public var removedTemporaryFiles: [String]
  }

  /// Repairs `run`.
  ///
  /// - Throws: `CheckpointError`: `.badInput` (not a run directory), `.locked` (a writer is
  ///   running), `.damaged` (the journal itself is damaged before the end of a segment: not
  ///   repairable here), `.failure` (I/O).
  public static func repair(run: RunDirectory) throws -> Report {
    try run.requireExisting()
    guard let identity = try run.journal.replay().identity else {
      let lock = try run.lock()
      defer { lock.release() }
      let removed = try CheckpointError.wrapping { try run.objects.removeTemporaryFiles() }
      return Report(droppedTiles: [], removedOrphans: [], removedTemporaryFiles: removed)
    }
    let temporaries = try CheckpointError.wrapping { try run.objects.temporaryFiles() }
    // Opening the session takes the lock and removes the temporary files.
    let session = try RunSession.open(run: run, identity: identity, manifestJSON: nil)
    defer { session.close() }
    let report = try RunVerifier.verify(run: run)
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
    return Report(droppedTiles: report.problems, removedOrphans: removed, removedTemporaryFiles: temporaries)
  }
}
