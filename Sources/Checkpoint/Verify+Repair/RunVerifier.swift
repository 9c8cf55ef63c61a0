import Foundation
import Storage

/// Checks a run directory against its journal: every journaled tile's object must exist,
/// decompress to the journaled raw size and re-hash to the journaled SHA-256.
public enum RunVerifier {
  /// How far the object check is: objects (journaled tiles) checked of all, and their stored
  /// (compressed, as journaled) bytes read of all.
  public struct Progress: Equatable, Sendable {
    public var objectsDone: Int
    public var objectsTotal: Int
    public var bytesDone: Int
    public var bytesTotal: Int
  }

  /// Verifies `run`, reading every object once.
  ///
  /// - Parameter progress: called once before the first object and after each object checked.
  /// - Throws: `CheckpointError` (`.badInput`) if `run` is not a run directory, (`.damaged`) if the
  ///   journal itself is damaged. Damaged objects are reported, not thrown.
  public static func verify(run: RunDirectory, progress: (Progress) -> Void = { _ in }) throws -> VerificationReport {
    try run.requireExisting()
    let replay = try run.journal.replay()
    let store = run.objects
    let records = replay.tiles.values.sorted { $0.index < $1.index }
    var problems: [VerificationReport.Problem] = []
    let scalarBytes = replay.identity?.precision.byteSize ?? 4
    var state = Progress(objectsDone: 0, objectsTotal: records.count, bytesDone: 0,
                         bytesTotal: records.reduce(0) { $0 + max(0, $1.storedByteCount) })
    progress(state)
    for record in records {
      if let problem = check(record, in: store, scalarBytes: scalarBytes, columns: replay.identity.flatMap { columnCount(of: record, identity: $0) }) {
        problems.append(problem)
      }
      state.objectsDone += 1
      state.bytesDone += max(0, record.storedByteCount)
      progress(state)
    }
    let orphans = try orphans(run: run, named: Set(records.map(\.object)))
    // Only those of writers gone: a running writer's object in progress is no crash's leftover.
    let temporaries = try CheckpointError.wrapping { try store.temporaryFiles() }.filter { RunRootTemporaries.writerIsGone(AtomicFile.name(of: $0)) }
      + RunRootTemporaries.stale(in: run)
    let strays = try CheckpointError.wrapping { try store.strayFiles() }
    let total = try replay.identity.map { try $0.plan().tiles.count } ?? 0
    var report = VerificationReport(run: run.path, tilesChecked: records.count, tilesNotYetComputed: max(0, total - records.count),
                              problems: problems, orphans: orphans, temporaryFiles: temporaries, strayFiles: strays,
                              writer: run.currentWriters().first?.holder, duplicateRecords: replay.duplicates.count,
                              logitsProblem: replay.identity.flatMap { LogitsFile.problem(at: LogitsFile.path(in: run), identity: $0) })
    report.unknownJournalFiles = try run.journal.unknownFiles()
    report.setAsideJournalFiles = try run.journal.setAsideFiles()
    report.columnsFileProblems = replay.identity.map { ColumnsFiles.problems(in: run, identity: $0) }?
      .map { VerificationReport.ColumnsFileProblem(name: $0.name, problem: $0.problem) } ?? []
    report.missingDerivedFiles = replay.identity.map { DerivedFiles.missing(in: run, identity: $0) } ?? []
    report.labelsProblem = replay.identity.flatMap { LabelsFile.problem(at: LabelsFile.path(in: run), identity: $0) }
    report.checksumsProblem = DerivedChecksums.problem(in: run)
    report.manifestProblem = RunSession.manifestProblem(run: run)
    report.manifestMissing = !SystemFile.kind(of: run.manifestPath).exists
    report.trainingProblem = try TrainingCheckpointStore(run: run).damage(
      epochs: TrainingCheckpointStore.recordedEpochs(run: run), targetAccuracy: TrainingCheckpointStore.recordedTargetAccuracy(run: run))
    return report
  }

  /// The objects of `run` that no journal record names. `named`: the objects of a replay made
  /// before the listing. A writer may journal a tile between that replay and the listing (its
  /// object is stored before its record), so an object `named` lacks is looked up in a second
  /// replay before it is called an orphan: a tile finished during `verify` is not one.
  static func orphans(run: RunDirectory, named: Set<ContentHash>) throws -> [ContentHash] {
    let unnamed = try CheckpointError.wrapping { try run.objects.list() }.filter { !named.contains($0) }
    guard !unnamed.isEmpty else { return [] }
    let recorded = Set(try run.journal.replay().tiles.values.map(\.object))
    return unnamed.filter { !recorded.contains($0) }
  }

  /// The problem with `record`'s object, if any: missing, damaged (unreadable, wrong size or
  /// hash), or intact but holding NaN/±Inf (`run` never journals such a tile; one written by an
  /// older version is reported so that `repair` drops it and `run` names the cause).
  static func check(_ record: TileRecord, in store: ObjectStore, scalarBytes: Int, columns: Int?) -> VerificationReport.Problem? {
    func problem(missing: Bool = false, nonFinite: Bool = false, _ reason: String) -> VerificationReport.Problem {
      .init(index: record.index, rowBlock: record.rowBlock, columnBlock: record.columnBlock, object: record.object,
            missing: missing, reason: reason, nonFinite: nonFinite)
    }
    let location = store.path(for: record.object)
    guard FileManager.default.fileExists(atPath: location) else {
      return problem(missing: true, "object \(location) is missing")
    }
    let raw: [UInt8]
    do {
      raw = try store.read(record.object, rawByteCount: record.rawByteCount)
    } catch let error as StorageError {  // every problem names the object's path, as a missing one does
      return problem(error.message.contains(location) ? error.message : "object \(location): \(error.message)")
    } catch {
      return problem("object \(location): \(error)")
    }
    guard let bad = NonFiniteScan.scan(raw: raw, scalarBytes: scalarBytes) else { return nil }
    let at = columns.map { "row \(bad.index / $0), column \(bad.index % $0)" } ?? "value \(bad.index)"
    return problem(nonFinite: true, "object \(location) holds \(Plural.count(bad.count, "non-finite value")), the first \(bad.value) at \(at) of the tile")
  }

  /// Values per row of `record`'s tile (`n_J · m`), or `nil` if its column block is outside the plan.
  private static func columnCount(of record: TileRecord, identity: RunIdentity) -> Int? {
    let (n, t) = (identity.columnSampleCount ?? identity.sampleCount, identity.tileSamples)
    guard t > 0, record.columnBlock >= 0, record.columnBlock <= n / t else { return nil }  // so J·t cannot overflow
    guard record.columnBlock * t < n else { return nil }
    return identity.tileColumnCount(columns: TilePlan.samples(ofBlock: record.columnBlock, sampleCount: n, tileSamples: t).count)
  }
}
