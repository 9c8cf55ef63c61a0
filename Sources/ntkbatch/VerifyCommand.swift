import ArgumentParser
import Checkpoint
import Foundation
import Storage
import Pipeline

/// `ntkbatch verify DIR`: decompresses and re-hashes every tile object against the journal.
struct VerifyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Check every journaled tile: its object exists, decompresses and matches its SHA-256.",
    discussion: """
      Names every missing or damaged tile as (I, J), and every tile holding NaN/Inf (NONFINITE); \
      counts orphan objects and temporary files left by crashes and names stray files under \
      objects/, AtomicFile temporaries of writers gone in the run directory itself (TEMPORARY), and \
      each missing logits.npy, labels.npy, columns-logits.npy, columns-labels.npy, checksums.json (MISSING; not an \
      error: `ntkbatch run` writes it again) and RUN/manifest.json when missing (MISSING) or not a manifest \
      (DAMAGED); exits 1 if a journaled tile is missing, damaged or non-finite, a derived file or \
      checksums.json or RUN/manifest.json is damaged, or if the journal \
      itself is damaged (one line naming the segment and byte offset), or has no journal (no segment \
      with a readable header). `ntkbatch repair` fixes both. A model.train run still in its \
      training stage (no journal yet) is said to be so, with the stage as `status` shows it (exit \
      0 unless its training state is damaged).
      """)

  @Argument(help: "The run directory.")
  var runDirectory: String

  @Option(help: "Progress on stderr while the objects are checked: auto (a bar on a terminal, a line every 30 s otherwise), bar, lines, none.")
  var progress: AssembleProgress.Mode = .auto

  func run() throws {
    var training: TrainingStatus?
    let report = try CLIError.reporting { () -> VerificationReport in
      let run = RunDirectory(path: runDirectory)
      try run.requireExisting()
      // A `model.train` run still in its training stage has no journal yet, and no tiles planned:
      // said so (as `status` does), not "0 of 0" nor "no journal".
      training = try Self.trainingStage(of: run)
      if training == nil { try JournalPresence.require(run: run) }
      var display = ObjectCheckProgress(mode: progress, label: "verify")
      defer { display.finish() }
      return try RunVerifier.verify(run: run) { display.update($0) }
    }
    for problem in report.problems {
      print("\(problem.missing ? "MISSING" : problem.nonFinite ? "NONFINITE" : "DAMAGED") tile \(problem.index) (\(problem.rowBlock), \(problem.columnBlock)): \(problem.reason)")
    }
    var summary = "\(report.tilesChecked - report.problems.count) of \(report.tilesChecked) journaled \(Plural.noun(report.tilesChecked, "tile")) intact"
    if let training {
      let next = !training.finished ? " after training" : report.writer != nil ? " by the running session" : " by the next `ntkbatch run`"
      summary = "no tiles planned yet: the run is in its training stage, \(StatusCommand.describe(training)); the eNTK's tiles are computed\(next)"
    }
    if report.tilesNotYetComputed > 0 { summary += "; \(Plural.count(report.tilesNotYetComputed, "tile")) not computed yet" }
    if !report.orphans.isEmpty { summary += "; \(Plural.count(report.orphans.count, "orphan object")) no record names (harmless to the journaled tiles: stored by a session that stopped before journaling them, or named by journal records since lost; `ntkbatch run` computes every tile not journaled\(report.writer == nil ? "" : "; the running writer's newest tile may be stored and not journaled yet"))" }
    if !report.temporaryFiles.isEmpty { summary += "; \(Plural.count(report.temporaryFiles.count, "temporary file")) left by a crash" }
    for path in report.strayFiles { print("STRAY \(path): not an object nor a temporary file (not written by ntkbatch; repair keeps it)") }
    if !report.strayFiles.isEmpty { summary += "; \(Plural.count(report.strayFiles.count, "stray file")) under objects/ (harmless)" }
    for path in report.unknownJournalFiles { print("UNKNOWN \(path): not a journal segment name, so its records are ignored (a copy? move it out of journal/)") }
    for path in report.setAsideJournalFiles { print("KEPT \(path): the original of a segment `repair` cut or set aside (or `run`: one that ended before its header), kept for inspection (ignored by replay; delete it when no longer needed)") }
    if !report.unknownJournalFiles.isEmpty { summary += "; \(Plural.count(report.unknownJournalFiles.count, "unknown file")) in journal/ (ignored)" }
    if report.duplicateRecords > 0 { summary += "; \(Plural.count(report.duplicateRecords, "duplicate journal record")) (harmless; `ntkbatch repair` removes \(report.duplicateRecords == 1 ? "it" : "them"))" }
    if let problem = report.logitsProblem { print("DAMAGED \(runDirectory)/logits.npy: \(problem)") }
    if let problem = report.labelsProblem { print("DAMAGED \(runDirectory)/labels.npy: \(problem)") }
    for file in report.columnsFileProblems { print("DAMAGED \(runDirectory)/\(file.name): \(file.problem)") }
    if let problem = report.trainingProblem { print("DAMAGED training state: \(problem)") }
    if let problem = report.checksumsProblem { print("DAMAGED \(runDirectory)/checksums.json: \(problem); the derived files' checksums cannot be checked") }
    if let problem = report.manifestProblem {
      print(report.manifestMissing ? "MISSING \(runDirectory)/manifest.json: `ntkbatch run` with this run's manifest writes it again"
                                   : "DAMAGED \(problem); `ntkbatch run` with this run's manifest rewrites it")
    }
    for name in report.missingDerivedFiles { print("MISSING \(runDirectory)/\(name): `ntkbatch run` writes it again") }
    for path in report.temporaryFiles {  // objects' and the run directory's own (AtomicFile)
      print("TEMPORARY \(path): left by a writer that is no longer running; `ntkbatch repair` removes it")
    }
    if let writer = report.writer { summary += "; a writer is running (\(writer))" }
    print(summary)
    // Damaged derived files (the tiles are intact): name the first, say how to restore it.
    let derived = [report.logitsProblem.map { ("logits.npy", $0) }, report.labelsProblem.map { ("labels.npy", $0) }].compactMap { $0 }
      + report.columnsFileProblems.map { ($0.name, $0.problem) } + [report.checksumsProblem.map { ("checksums.json", $0) }].compactMap { $0 }
    if report.problems.isEmpty, derived.isEmpty, let problem = report.trainingProblem {
      StandardStream.error("ntkbatch: error: \(problem); run `ntkbatch repair \(runDirectory)` (it sets the training state aside), then `ntkbatch run` trains again\n")
      throw ExitCode(1)
    }
    if report.problems.isEmpty, let (name, problem) = derived.first {
      StandardStream.error("ntkbatch: error: \(runDirectory)/\(name): \(problem); run `ntkbatch repair \(runDirectory)`, then `ntkbatch run` writes it again\n")
      throw ExitCode(1)
    }
    if report.problems.isEmpty, !report.manifestMissing, let problem = report.manifestProblem {
      StandardStream.error("ntkbatch: error: \(problem); run `ntkbatch run MANIFEST --run-dir \(runDirectory)` with this run's manifest (the journal's manifest hash) to rewrite it\n")
      throw ExitCode(1)
    }
    if !report.isIntact {
      StandardStream.error("ntkbatch: error: \(report.problems.count) damaged, missing or non-finite \(Plural.noun(report.problems.count, "tile")) in \(runDirectory); run `ntkbatch repair \(runDirectory)`, then `ntkbatch run` to recompute \(report.problems.count == 1 ? "it" : "them")\n")
      throw ExitCode(1)
    }
  }
}

extension VerifyCommand {
  /// The training stage of `run` when its journal has no header yet and it holds a training
  /// state or a writer training its first epoch (`TrainingStatus.read`, as `status` reads it);
  /// `nil` otherwise.
  static func trainingStage(of run: RunDirectory) throws -> TrainingStatus? {
    guard try run.journal.replay().identity == nil else { return nil }
    return TrainingStatus.read(run: run, writer: RunLock.currentHolder(path: run.lockPath), journalStarted: false)
  }
}
