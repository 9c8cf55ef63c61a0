import Checkpoint
import Foundation
import Storage

/// The one-line error of `status` and `verify` for a run directory whose journal records nothing:
/// no segment at all, or only segments without a readable header (empty, or cut short before the
/// header was complete) — never shown as "0/0".
public enum JournalPresence {
  /// The error for `run`, with `segments` segment files present and `objects` objects stored.
  public static func missing(run: RunDirectory, segments: Int, objects: Int) -> CheckpointError {
    let orphans = objects > 0 ? " (\(Plural.count(objects, "object")) under objects/ \(objects == 1 ? "belongs" : "belong") to no record)" : ""
    if segments == 0 {
      return CheckpointError(.failure, "\(run.path): no journal: \(run.journalDirectory) holds no segment, so no tile is recorded as done\(orphans); `ntkbatch run MANIFEST --run-dir \(run.path)` starts the run from its first tile")
    }
    return CheckpointError(.failure, "\(run.path): no journal header: \(Plural.count(segments, "segment")) in \(run.journalDirectory) \(segments == 1 ? "holds" : "hold") no readable header record (empty or cut short), so no tile is recorded as done\(orphans); `ntkbatch repair` sets \(segments == 1 ? "it" : "them") aside, then `ntkbatch run MANIFEST --run-dir \(run.path)` starts from the first tile")
  }

  /// Throws `missing(…)` when `run`'s journal has no header and no writer is starting it.
  public static func require(run: RunDirectory) throws {
    let replay = try run.journal.replay()
    guard replay.identity == nil, run.currentWriters().isEmpty else { return }
    throw missing(run: run, segments: replay.segments.count, objects: (try? run.objects.list().count) ?? 0)
  }
}
