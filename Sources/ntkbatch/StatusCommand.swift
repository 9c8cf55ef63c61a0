import ArgumentParser
import Checkpoint
import Foundation
import Pipeline
import Storage

/// `ntkbatch status DIR`: tiles done/total, bytes, ETA of a run directory.
struct StatusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Show a run directory's progress: tiles done/total, bytes, ETA.",
    discussion: """
      A `model.train` run shows its training stage (RUN/training/latest.json): the epoch committed \
      of at most model.train.epochs, loss, accuracy, finished or not, whether it is training now and \
      an ETA from the seconds per epoch; `--json` has them as `training`. Exit 1 with one line when \
      the run directory has no journal segment, or only segments without a readable header (empty \
      or cut short) — the journal is gone: no tile is recorded as done — unless it holds a training \
      state (shown, exit 0; exit 1 when damaged) or its first session is still starting. A shard \
      silent for 30 minutes (or 20 mean tile times) is STALLED; one whose last record time is more \
      than 5 minutes in this machine's future is CLOCK SKEW (its host's clock runs ahead), its \
      silence then measured from its segment file's modification time.
      """)

  @Argument(help: "The run directory.")
  var runDirectory: String

  @Flag(help: "Print JSON: the status fields plus every journaled tile (index, row, column, hash, bytes, seconds).")
  var json = false

  @Flag(name: .customLong("tiles-done"), help: "Print only the number of journaled tiles (one integer, for scripts); with --shard, those of that shard's tile range (0 before it wrote a session).")
  var tilesDone = false

  // `.unconditional`: `--shard -1/2` is read as a value (and refused by `validate`), not as an option.
  @Option(parsing: .unconditional, help: "With --tiles-done: count shard K/N's tiles only (K/N, slurm or env, as for run --shard).")
  var shard: String?

  func validate() throws {
    if shard != nil && !tilesDone { throw ValidationError("--shard applies to --tiles-done only") }
    if tilesDone && json { throw ValidationError("--tiles-done and --json: give one of them") }
    if let shard, shard != "slurm", shard != "env" {
      do { _ = try ShardSpec.parse(shard) } catch let error as CheckpointError { throw ValidationError(error.message) }
    }
  }

  func run() throws {
    try CLIError.reporting {
      let run = RunDirectory(path: runDirectory)
      if tilesDone {
        try run.requireExisting()
        print(try Self.journaledTiles(run: run, shard: shard.map { try ShardSpec.parse($0) }))
        return
      }
      let status = try RunStatus.read(run: run)
      if status.identity == nil { try requireJournalOrExplain(status, run: run) }
      if json {
        try printJSON(status, tiles: run.journal.replay().tiles.values.sorted { $0.index < $1.index })
      } else {
        printText(status)
      }
      if let problem = status.training?.problem {  // as without a journal: damage is exit 1
        throw CheckpointError(.damaged, Self.damagedTraining(problem, runDirectory: runDirectory))
      }
    }
  }

  /// Journaled tiles of the run, or of `shard`'s tile range (`ShardStatus.tilesDone`). What the
  /// Slurm shard script compares before and after an attempt.
  static func journaledTiles(run: RunDirectory, shard: ShardSpec?) throws -> Int {
    let replay = try run.journal.replay()
    return shard.map { ShardStatus.tilesDone(of: $0, in: replay) } ?? replay.tiles.count
  }

  /// A run directory without any journal segment: a `model.train` run in its training stage
  /// (`RUN/training/latest.json`, or a writer training its first epoch) is shown as such (exit 0;
  /// exit 1 when the training state is damaged); a first session still starting is said so
  /// (exit 0); otherwise the journal is gone and nothing records a finished tile (exit 1).
  private func requireJournalOrExplain(_ status: RunStatus, run: RunDirectory) throws {
    if let training = status.training {
      if json {
        try printJSON(status, tiles: [])
      } else {
        print("run:      \(status.run)")
        print("training: \(Self.describe(training))")
        print("journal:  none yet: the eNTK's tiles are computed after training\(training.finished ? status.writer == nil ? " (the next `ntkbatch run` starts them)" : " (the running session starts them)" : "")")
        if let writer = status.writer { print("writer:   running (\(writer))") }
      }
      if let problem = training.problem {
        StandardStream.error("ntkbatch: error: \(Self.damagedTraining(problem, runDirectory: runDirectory))\n")
        throw ExitCode(1)
      }
      throw ExitCode.success
    }
    if status.writer != nil {
      guard !json else { return }
      print("run:      \(status.run)")
      print("journal:  none yet: no eNTK session has written a record\(status.writer.map { " (a writer is running: \($0))" } ?? "")")
      throw ExitCode.success
    }
    let objects = (try? run.objects.list().count) ?? 0
    throw JournalPresence.missing(run: run, segments: status.sessions, objects: objects)
  }

  /// The error line (after `ntkbatch: error: `) of a damaged training state.
  static func damagedTraining(_ problem: String, runDirectory: String) -> String {
    "damaged training state: \(problem); run `ntkbatch repair \(runDirectory)` (it sets the training state aside), then `ntkbatch run` trains again"
  }

  /// One line on the training stage: epoch committed of at most `epochs`, loss, accuracy (and the
  /// target) in percent as the training progress shows them, and finished, running (with an ETA
  /// when the record has epoch times) or stopped. (`--json` keeps the fractions of `latest.json`.)
  static func describe(_ t: TrainingStatus) -> String {
    if let problem = t.problem { return "DAMAGED: \(problem)" }
    let of = t.epochs.map { "/\($0)" } ?? ""
    guard t.epoch > 0 else {
      return t.running ? "epoch 1\(of) in progress, none committed yet (running)"
        : "no epoch\(of) committed yet; not running: `ntkbatch run` starts training at epoch 1"
    }
    var text = "epoch \(t.epoch)\(of) committed"
    if let loss = t.loss, let accuracy = t.accuracy { text += String(format: " (loss %.4g, accuracy %@)", loss, TrainingStatus.percent(accuracy)) }
    if let at = t.lastEpochAt { text += " at \(at)" }
    if t.finished { return text + ", training finished" }
    let perEpoch = t.secondsPerEpoch.map { ", \(String(format: "%.3g", $0)) s per epoch" } ?? ""
    let left = t.epochsLeft.map { ", at most \(Plural.count($0, "epoch")) left" } ?? ""
    let target = t.targetAccuracy.flatMap { $0 < 1 ? " (fewer once the accuracy exceeds \(TrainingStatus.percent($0)))" : nil } ?? ""
    if t.running {
      let eta = t.etaSeconds.map { "ETA \(ProgressDisplay.duration($0)) at most" }
        ?? (t.secondsPerEpoch == nil ? "ETA unknown (the training record has no epoch times: written by an older ntkbatch)" : "ETA unknown")
      return text + "; training now\(perEpoch)\(left)\(target); \(eta)"
    }
    return text + "; not running\(perEpoch)\(left)\(target): `ntkbatch run` continues at epoch \(t.epoch + 1)"
  }

  private func printText(_ s: RunStatus) {
    let percent = s.pairsTotal > 0 ? 100 * Double(s.pairsDone) / Double(s.pairsTotal) : 0
    print("run:      \(s.run)")
    if let identity = s.identity {
      let shape = ShapeSize.description(identity.assembledShape)
      let kernel = identity.kernel == .full ? "" : " kernel \(identity.kernel.rawValue),"
      let cross = identity.columnSampleCount.map { " (cross kernel: \(identity.sampleCount) row × \($0) column samples)" } ?? ""
      print("matrix:   \(shape)\(kernel) \(identity.precision.rawValue), normalization \(identity.normalization.rawValue), \(Plural.count(identity.tileSamples, "sample")) per tile side\(cross)")
    }
    if let training = s.training { print("training: \(Self.describe(training))") }
    print("tiles:    \(s.tilesDone)/\(s.tilesTotal) (\(String(format: "%.1f", percent))% of sample pairs)")
    print("bytes:    \(s.rawBytes) raw, \(s.storedBytes) stored (zstd), \(s.plannedRawBytes) raw when complete")
    print("compute:  \(ProgressDisplay.duration(s.computeSeconds)) over \(Plural.count(s.sessions, "session"))")
    let basis = s.recentWallSecondsPerPair.map { "\(String(format: "%.3g", $0 * 1000)) s wall time per 1,000 sample pairs over the last tiles" }
      ?? s.wallSecondsPerTile.map { "\(String(format: "%.3g", $0)) s wall time per tile in the sessions so far, for one process" }
      ?? s.etaBasis.map { "\($0), without I/O: no session recorded a measurable wall time (times are to the second; older sessions record none)" } ?? ""
    print("eta:      \(s.isComplete ? "run complete (next: ntkbatch verify, then ntkbatch assemble)" : s.etaSeconds.map { "\(ProgressDisplay.duration($0)) (\(basis))" } ?? "unknown (no tile yet)")")
    if let writer = s.writer { print("writer:   running (\(writer))") }
    if !s.ntkbatchVersions.isEmpty {
      let older = s.sessionsWithoutVersion > 0 ? " (and \(Plural.count(s.sessionsWithoutVersion, "session")) by an earlier version that did not record it)" : ""
      print("tool:     written by ntkbatch \(s.ntkbatchVersions.joined(separator: ", "))\(older)")
    }
    if let count = s.shardCount {
      let counts = s.shards.reduce(into: [Int]()) { if !$0.contains($1.shard.count) { $0.append($1.shard.count) } }
      for n in counts.isEmpty ? [count] : counts {
        let group = s.shards.filter { $0.shard.count == n }
        let complete = group.filter(\.isComplete).count
        if n == count {
          let stalled = group.filter(\.stalled).map { String($0.shard.index) }
          let skewed = group.filter { $0.clockSkewSeconds != nil }.map { String($0.shard.index) }
          // Shards of this count that never started and whose tiles earlier shard counts journaled.
          let covered = max(0, n - group.count - s.shardsNotStartedCount)
          let coveredText = covered > 0 ? ", \(covered) never needed (their tiles journaled by an earlier shard count)" : ""
          print("shards:   \(n): \(complete) complete, \(group.count - complete) started and unfinished, \(s.shardsNotStartedCount) not started\(coveredText)\(stalled.isEmpty ? "" : "; STALLED: \(stalled.joined(separator: ", "))")\(skewed.isEmpty ? "" : "; CLOCK SKEW: \(skewed.joined(separator: ", "))")\(s.isComplete ? "; run complete" : "")")
        } else {
          print("shards:   \(n) (earlier shard count): \(complete) complete, \(group.count - complete) unfinished")
        }
        for shard in group {
          let state = shard.isComplete ? "complete" : shard.stalled ? "STALLED, no record for \(ProgressDisplay.duration(shard.secondsSinceLastRecord))" : shard.writer != nil ? "running" : "unfinished"
          let when = shard.clockSkewSeconds.map {
            "\(ProgressDisplay.duration($0)) in the future: CLOCK SKEW, host \(shard.host)'s clock runs ahead of this machine's; its segment was last modified \(ProgressDisplay.duration(shard.secondsSinceLastRecord)) ago"
          } ?? "\(ProgressDisplay.duration(shard.secondsSinceLastRecord)) ago"
          print("  shard \(shard.shard): \(shard.tilesDone)/\(Plural.count(shard.tiles.count, "tile")), last record \(shard.lastRecordTime) (\(when)), host \(shard.host), \(Plural.count(shard.sessions, "session")), \(state)\(shard.writer.map { " (\($0))" } ?? "")")
        }
        if n == count, !s.shardsNotStarted.isEmpty {
          let more = s.shardsNotStartedCount - s.shardsNotStarted.count
          print("  not started: shard \(s.shardsNotStarted.map { "\($0)/\(count)" }.joined(separator: ", "))\(more > 0 ? " and \(more) more" : "")")
        }
      }
    }
    if s.duplicateRecords > 0 { print("note:     \(Plural.count(s.duplicateRecords, "duplicate journal record")) (a tile journaled twice with the same object: harmless; `ntkbatch repair` removes \(s.duplicateRecords == 1 ? "it" : "them"))") }
    if s.tornTails > 0 { print("note:     \(Plural.count(s.tornTails, "session")) ended mid-record (crash); \(s.tornTails == 1 ? "its" : "their") last record was ignored") }
  }

  private func printJSON(_ status: RunStatus, tiles: [TileRecord]) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    var object = try JSONSerialization.jsonObject(with: encoder.encode(status)) as? [String: Any] ?? [:]
    object["complete"] = status.isComplete
    object["tiles"] = tiles.map { record -> [String: Any] in
      ["index": record.index, "row": record.rowBlock, "column": record.columnBlock, "hash": record.object.hex,
       "rawBytes": record.rawByteCount, "storedBytes": record.storedByteCount, "seconds": record.computeSeconds]
    }
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
  }
}
