import Storage

/// Checks a run directory against its journal: every journaled tile's object must exist,
/// decompress to the journaled raw size and re-hash to the journaled SHA-256.
public enum RunVerifier {
  /// Verifies `run`, reading every object once.
  ///
  /// - Parameter progress: called with (objects checked, objects to check).
  /// - Throws: `CheckpointError` (`.badInput`) if `run` is not a run directory, (`.damaged`) if the
  ///   journal itself is damaged. Damaged objects are reported, not thrown.
  public static func verify(run: RunDirectory, progress: (Int, Int) -> Void = { _, _ in }) throws -> VerificationReport {
    try run.requireExisting()
    let replay = try run.journal.replay()
    let store = run.objects
    let records = replay.tiles.values.sorted { $0.index < $1.index }
    var problems: [VerificationReport.Problem] = []
    for (k, record) in records.enumerated() {
      switch store.condition(of: record.object, rawByteCount: record.rawByteCount) {
      case .intact:
        break
      case .missing:
        problems.append(.init(index: record.index, rowBlock: record.rowBlock, columnBlock: record.columnBlock,
                              object: record.object, missing: true,
                              reason: "object \(store.path(for: record.object)) is missing"))
      case .damaged(let reason):
        problems.append(.init(index: record.index, rowBlock: record.rowBlock, columnBlock: record.columnBlock,
                              object: record.object, missing: false, reason: reason))
      }
      progress(k + 1, records.count)
    }
    let named = Set(records.map(\.object))
    let orphans = try CheckpointError.wrapping { try store.list() }.filter { !named.contains($0) }
    let temporaries = try CheckpointError.wrapping { try store.temporaryFiles() }
    let total = try replay.identity.map { try $0.plan().tiles.count } ?? 0
    return VerificationReport(run: run.path, tilesChecked: records.count, tilesNotYetComputed: max(0, total - records.count),
                              problems: problems, orphans: orphans, temporaryFiles: temporaries,
                              writer: run.currentWriters().first?.holder, duplicateRecords: replay.duplicates.count)
  }
}
