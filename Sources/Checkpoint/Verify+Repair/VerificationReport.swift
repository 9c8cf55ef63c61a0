import Storage

/// What `RunVerifier` found: `ntkbatch verify` prints it and exits nonzero unless `isIntact`.
public struct VerificationReport: Codable, Equatable, Sendable {
  /// A journaled tile whose object is missing, damaged, or holds NaN/±Inf.
  public struct Problem: Codable, Equatable, Sendable {
    /// Tile index in the plan.
    public var index: Int
    /// Row block I.
    public var rowBlock: Int
    /// Column block J.
    public var columnBlock: Int
    /// The object the record names.
    public var object: ContentHash
    /// `true` when the object file is absent, `false` when present but damaged.
    public var missing: Bool
    /// What is wrong, one line.
    public var reason: String
    /// `true` when the object is intact but holds NaN or ±Inf.
    public var nonFinite: Bool = false
  }

  /// The run directory.
  public var run: String
  /// Journaled tiles checked.
  public var tilesChecked: Int
  /// Tiles of the plan not journaled yet (not an error: the run is unfinished).
  public var tilesNotYetComputed: Int
  /// Journaled tiles whose object is missing or damaged.
  public var problems: [Problem]
  /// Objects that no journal record names (left by a crash between object and record; harmless).
  public var orphans: [ContentHash]
  /// Derived files the run should hold but does not (`DerivedFiles.missing`: names in the run
  /// directory); reported, not a failure.
  public var missingDerivedFiles: [String] = []
  /// Temporary files left by interrupted writes: under `objects/`, and AtomicFile temporaries of
  /// writers no longer running in the run directory itself (`RunRootTemporaries`).
  public var temporaryFiles: [String]
  /// Files under `objects/` that are neither objects nor temporary files (not written by
  /// ntkbatch; `repair` removes them).
  public var strayFiles: [String] = []
  /// Files in `journal/` that are not segments (`Journal.unknownFiles`): ignored by replay.
  public var unknownJournalFiles: [String] = []
  /// Originals `repair` kept in `journal/` (`segment-….log.damaged`, `Journal.setAsideFiles`):
  /// ignored by replay, kept for inspection.
  public var setAsideJournalFiles: [String] = []
  /// A writer holding the lock during verification, if any (its temporary files may be live).
  public var writer: String?

  /// Duplicate journal records (a tile journaled again with the same object: harmless; `repair`
  /// removes them).
  public var duplicateRecords: Int = 0

  /// What is wrong with `RUN/logits.npy` (unreadable, wrong shape or dtype, non-finite), if anything.
  public var logitsProblem: String? = nil

  /// What is wrong with `RUN/labels.npy` (unreadable, wrong shape or dtype, a label outside 0…9), if anything.
  public var labelsProblem: String? = nil

  /// Cross runs: what is wrong with `RUN/columns-logits.npy` / `RUN/columns-labels.npy`
  /// (`ColumnsFiles.problems`), file name and problem.
  public var columnsFileProblems: [ColumnsFileProblem] = []

  /// What is wrong with the training state (`RUN/training/latest.json`: unreadable, a missing or
  /// damaged checkpoint, impossible numbers such as `finished` before the last epoch below the
  /// target accuracy), if anything (`TrainingCheckpointStore.damage`).
  public var trainingProblem: String? = nil

  /// What is wrong with `RUN/checksums.json` (`DerivedChecksums.problem`: garbled, not the
  /// format), if anything: damage (its checksums cannot protect the derived files); `repair`
  /// removes it and `run` records them again from bytes it computes.
  public var checksumsProblem: String? = nil

  /// `RUN/manifest.json` missing or damaged (`RunSession.manifestProblem`), if so; `run` with the
  /// run's manifest (the journal's canonical hash) rewrites it. Not part of `isIntact` (the tiles
  /// do not need it); `ntkbatch verify` exits 1 for damage, not for absence.
  public var manifestProblem: String? = nil
  /// Whether `manifestProblem` is the file's absence (noted) rather than damage.
  public var manifestMissing: Bool = false

  /// A damaged per-column-sample file of a cross run.
  public struct ColumnsFileProblem: Codable, Equatable, Sendable {
    public var name: String
    public var problem: String
  }

  /// No journaled tile is missing or damaged.
  public var isIntact: Bool { problems.isEmpty && logitsProblem == nil && labelsProblem == nil && columnsFileProblems.isEmpty && trainingProblem == nil
    && checksumsProblem == nil }
}
