import ArgumentParser
import Checkpoint
import Datasets
import Engine
import Foundation
import Pipeline
import Storage

/// `ntkbatch run MANIFEST`: computes (or resumes) every tile of a manifest's eNTK.
struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Compute the eNTK tiles of a manifest, resuming where a previous run stopped.",
    discussion: """
      Tiles are journaled as they finish; interrupt at any time (Ctrl-C, SIGTERM, even kill -9) \
      and run the same command again to continue. SIGINT/SIGTERM/SIGHUP abandon the tile in progress \
      (never journaled) and exit with code 75 within seconds; a second Ctrl-C kills at once; a closed output pipe does not stop the run. A \
      tile that comes out NaN/Inf is not journaled: the run stops with exit 1 naming it. With \
      --shard K/N (or slurm, env) only shard K of N is computed: a contiguous stretch of the plan \
      of about 1/N of the estimated FLOP; any number of shards may write one run directory at \
      once, from any machine, and tiles journaled by anyone are skipped.
      """
  )

  @Argument(help: "The manifest (JSON; see the README).")
  var manifest: String

  @Option(name: .customLong("run-dir"), help: "Run directory (default: runs/<manifest name> in the current directory; for a run directory's own RUN/manifest.json, RUN).")
  var runDirectory: String?

  @Option(help: "Progress display: auto (bar on a terminal, periodic lines otherwise), bar, lines, tiles, none.")
  var progress: ProgressMode = .auto

  // `.unconditional`: `--max-tiles -1` is read as the value -1 (and refused by `validate`), not as an option.
  @Option(name: .customLong("max-tiles"), parsing: .unconditional, help: "Stop after computing this many tiles in this session.")
  var maxTiles: Int?

  // `.unconditional`: `--shard -1/2` is read as a value (and refused by `validate`), not as an option.
  @Option(parsing: .unconditional, help: "Compute only shard K of N (0-based): K/N, slurm (SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_MAX+1, whole 0-based arrays only) or env (Slurm's, else JOB_COMPLETION_INDEX of NTKBATCH_SHARD_COUNT).")
  var shard: String?

  func validate() throws {
    if runDirectory?.isEmpty == true { throw ValidationError("--run-dir: expected a directory path, found an empty string") }
    if let maxTiles, maxTiles < 1 { throw ValidationError("--max-tiles must be at least 1, got \(maxTiles)") }
    if let shard, shard != "slurm", shard != "env" {
      do { _ = try ShardSpec.parse(shard) } catch let error as CheckpointError { throw ValidationError(error.message) }
    }
  }

  func run() throws {
    let signals = SignalWatch()
    let outcome = try CLIError.reporting(manifest: self.manifest) { () -> RunPipeline.Outcome in
      let manifest = try ManifestInput.load(path: self.manifest)
      let directory = RunDirectory(path: runDirectory ?? RunDirectory.defaultPath(manifestPath: self.manifest, name: manifest.name))
      let shardSpec = try shard.map { try ShardSpec.parse($0) }
      if shardSpec != nil { try RunPipeline.refuseTrainingWithShards(manifest, path: self.manifest) }
      let pipeline = RunPipeline(manifest: manifest, run: directory, reporter: ProgressReporter(mode: progress), maxTiles: maxTiles, shard: shardSpec, stop: signals)
      return try pipeline.execute()
    }
    if outcome == .stoppedBySignal { throw ExitCode(CLIError.stoppedBySignal) }
  }
}
