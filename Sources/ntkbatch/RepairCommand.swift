import ArgumentParser
import Checkpoint
import Foundation
import Storage

/// `ntkbatch repair DIR`: brings a run directory back to a state that verifies, so that `run`
/// recomputes exactly what was lost.
struct RepairCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "repair",
    abstract: "Repair a run directory: cut damaged journal records, drop tiles whose object is missing, damaged or non-finite, remove orphans and temporary files (stray files are named and kept).",
    discussion: """
      Takes the run's lock (refused while a `run` is writing). A damaged journal record before \
      the end of its segment is removed, resynchronising on the next valid record, so every valid \
      record after it is kept and only the damaged record's tile is computed again; the original \
      segment is kept next to it as segment-NNNNNN.log.damaged. Tiles whose object is missing, \
      fails its SHA-256 or holds NaN/Inf get a drop record in the journal (so `run` computes them \
      again); objects that no record names and temporary files left by crashes are removed; \
      stray files under objects/ (not written by ntkbatch) are named and kept; damaged derived files \
      and a garbled checksums.json are removed (`run` computes them again); a missing or damaged \
      RUN/manifest.json is named (NOT REPAIRED: `run` with the run's manifest rewrites it). Prints one line per change; exit 0 when the run directory is \
      consistent afterwards (then run `ntkbatch run` to recompute what was dropped).
      """)

  @Argument(help: "The run directory.")
  var runDirectory: String

  @Option(help: "Progress on stderr while the objects are checked: auto (a bar on a terminal, a line every 30 s otherwise), bar, lines, none.")
  var progress: AssembleProgress.Mode = .auto

  func run() throws {
    let report = try CLIError.reporting { () -> RunRepair.Report in
      var display = ObjectCheckProgress(mode: progress, label: "repair")
      defer { display.finish() }
      return try RunRepair.repair(run: RunDirectory(path: runDirectory)) { display.update($0) }
    }
    for cut in report.cutSegments where cut.damagedCopy.isEmpty {
      print("REMOVED journal \(cut.segment): \(cut.reason)")
    }
    for cut in report.cutSegments where !cut.damagedCopy.isEmpty {
      print("CUT journal \(cut.segment) at byte \(cut.offset) (\(cut.reason)); \(Plural.count(cut.bytesCut, "byte")) removed, original kept as \(cut.damagedCopy)")
    }
    for problem in report.droppedTiles {
      print("DROPPED tile \(problem.index) (\(problem.rowBlock), \(problem.columnBlock)): \(problem.reason)")
    }
    for hash in report.removedOrphans {
      print("REMOVED orphan object \(hash.hex)")
    }
    for path in report.removedTemporaryFiles {
      print("REMOVED temporary file \(path)")
    }
    for path in report.keptStrayFiles {
      print("KEPT stray file \(path): not written by ntkbatch (move or delete it yourself)")
    }
    for conflict in report.withdrawnConflicts {
      print("WITHDREW tile \(conflict.index)'s record at byte \(conflict.offset) of \(conflict.segment) (object \(conflict.withdrawn.hex.prefix(12))…): the tile is journaled earlier in \(conflict.keptSegment) with object \(conflict.kept.hex.prefix(12))…, which is kept; both are valid computations, equal to rounding (sessions with different OPENBLAS_NUM_THREADS)")
    }
    for removal in report.removedDuplicates {
      print("REMOVED \(Plural.count(removal.tiles.count, "duplicate record")) from \(removal.segment) (\(Plural.noun(removal.tiles.count, "tile")) \(removal.tiles.prefix(8).map(String.init).joined(separator: ", "))\(removal.tiles.count > 8 ? ", …" : ""); each is journaled earlier with the same object)")
    }
    if let problem = report.setAsideTraining {
      print("SET ASIDE damaged training state (\(problem)): latest.json kept as latest.json.damaged; `ntkbatch run` trains again from the start")
    }
    if let problem = report.removedLogits {
      print("REMOVED damaged \(runDirectory)/logits.npy (\(problem)); `ntkbatch run` writes it again")
    }
    if let problem = report.removedLabels {
      print("REMOVED damaged \(runDirectory)/labels.npy (\(problem)); `ntkbatch run` writes it again")
    }
    for file in report.removedColumnsFiles {
      print("REMOVED damaged \(runDirectory)/\(file.name) (\(file.problem)); `ntkbatch run` writes it again")
    }
    if let problem = report.removedChecksums {
      print("REMOVED damaged \(runDirectory)/checksums.json (\(problem)); `ntkbatch run` computes the derived files again and records their checksums")
    }
    if let problem = report.manifestProblem {
      print("NOT REPAIRED \(problem); repair has no manifest to rewrite it from; run `ntkbatch run MANIFEST --run-dir \(runDirectory)` with this run's manifest, which rewrites it")
    }
    if report.changedAnything {
      let duplicates = report.removedDuplicates.reduce(0) { $0 + $1.tiles.count }
      // The damaged derived files removed above (logits, labels, a cross run's, checksums.json)
      // and a training state set aside are counted too (a tester's finding: "0 … removed" after
      // two REMOVED lines).
      let derived = [report.removedLogits, report.removedLabels, report.removedChecksums].compactMap { $0 }.count
        + report.removedColumnsFiles.count
      let derivedText = derived > 0 ? ", \(Plural.count(derived, "damaged derived file")) removed" : ""
      let trainingText = report.setAsideTraining != nil ? ", the damaged training state set aside" : ""
      print("repaired \(runDirectory): \(Plural.count(report.cutSegments.count, "journal segment")) cut, \(Plural.count(report.droppedTiles.count, "tile")) dropped, \(Plural.count(report.removedOrphans.count, "orphan")), \(Plural.count(report.removedTemporaryFiles.count, "temporary file")) and \(Plural.count(duplicates, "duplicate record")) removed, \(Plural.count(report.withdrawnConflicts.count, "conflicting record")) withdrawn\(derivedText)\(trainingText); run `ntkbatch run` to recompute what is missing")
    } else {
      print(report.manifestProblem == nil ? "nothing to repair in \(runDirectory)" : "nothing else to repair in \(runDirectory)")
    }
  }
}
