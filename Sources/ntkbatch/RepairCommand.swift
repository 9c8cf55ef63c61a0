import ArgumentParser
import Checkpoint
import Foundation

/// `ntkbatch repair DIR`: brings a run directory back to a state that verifies, so that `run`
/// recomputes exactly what was lost.
struct RepairCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "repair",
    abstract: "Repair a run directory: cut a damaged journal, drop tiles whose object is missing or damaged, remove orphans and temporary files.",
    discussion: """
      Takes the run's lock (refused while a `run` is writing). A journal segment with a damaged \
      record before its end is cut just before that record; the original is kept next to it as \
      segment-NNNNNN.log.damaged, and the tiles journaled after the damage are computed again by \
      the next `run`. Tiles whose object is missing or fails its SHA-256 get a drop record in the \
      journal (so `run` computes them again); objects that no record names and temporary files \
      left by crashes are removed. Prints one line per change; exit 0 when the run directory is \
      consistent afterwards (then run `ntkbatch run` to recompute what was dropped).
      """)

  @Argument(help: "The run directory.")
  var runDirectory: String

  func run() throws {
    let report = try CLIError.reporting { try RunRepair.repair(run: RunDirectory(path: runDirectory)) }
    for cut in report.cutSegments {
      print("CUT journal \(cut.segment) at byte \(cut.offset) (\(cut.reason)); \(cut.bytesCut) bytes removed, original kept as \(cut.damagedCopy)")
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
    for removal in report.removedDuplicates {
      print("REMOVED \(removal.tiles.count) duplicate record(s) from \(removal.segment) (tiles \(removal.tiles.prefix(8).map(String.init).joined(separator: ", "))\(removal.tiles.count > 8 ? ", …" : ""); each is journaled earlier with the same object)")
    }
    if report.changedAnything {
      print("repaired \(runDirectory): \(report.cutSegments.count) journal segment(s) cut, \(report.droppedTiles.count) tile(s) dropped, \(report.removedOrphans.count) orphan(s), \(report.removedTemporaryFiles.count) temporary file(s) and \(report.removedDuplicates.reduce(0) { $0 + $1.tiles.count }) duplicate record(s) removed; run `ntkbatch run` to recompute what is missing")
    } else {
      print("nothing to repair in \(runDirectory)")
    }
  }
}
