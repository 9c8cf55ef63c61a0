import ArgumentParser
import Checkpoint
import Datasets
import Engine
import Foundation
import Pipeline
import Storage

/// `ntkbatch slurm MANIFEST --array N …`: writes the sbatch scripts that compute a run as a Slurm
/// job array of N shards on one (shared) run directory, then verify and assemble it.
struct SlurmCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "slurm",
    abstract: "Write (and with --submit, submit) Slurm scripts that compute a run as a job array of shards.",
    discussion: """
      Writes RUN/slurm/shards.sbatch (a job array 0-(N-1) with --requeue and SIGTERM 120 s \
      before the time limit; task K runs `ntkbatch run MANIFEST --shard K/N` and requeues \
      itself when that exits 75 (unless --max-requeues attempts in a row journaled no new tile); one log per task in RUN/slurm/logs/shard-K.log, appended \
      across attempts), RUN/slurm/finish.sbatch (verify, then assemble NAME-entk-DTYPE.npy next to RUN) \
      and RUN/slurm/submit.sh, which submits the array and the finish job with \
      --dependency=afterok on it. Without --submit, prints where the scripts are and the command \
      to submit them; with --submit, submits them (sbatch must be on the PATH) and prints the job \
      ids. RUN must be on a file system every node sees (NFS, Lustre). Use a fixed \
      ntk.tileSamples (not "auto") unless every node has the same memory.
      """)

  @Argument(help: "The manifest (JSON; see the README).")
  var manifest: String

  @Option(parsing: .unconditional, help: "Number of shards: array tasks 0…N-1.")
  var array: Int

  @Option(help: "Slurm partition (default: the cluster's default).")
  var partition: String?

  @Option(parsing: .unconditional, help: "Time limit per task, as sbatch --time (e.g. 4:00:00); SIGTERM comes 120 s before it, so more than 3 minutes.")
  var time: String?

  @Option(name: .customLong("finish-time"), parsing: .unconditional, help: "Time limit of the verify + assemble job (default: --time).")
  var finishTime: String?

  @Option(name: .customLong("max-requeues"), parsing: .unconditional, help: "Requeues in a row of a task whose attempts journaled no new tile of its shard, after which an exit 75 is not requeued (a tile that never fits in --time); attempts that journal tiles are always requeued. The streak is kept in RUN/slurm/no-progress/shard-K.")
  var maxRequeues: Int = 20

  @Option(name: .customLong("cpus-per-task"), parsing: .unconditional, help: "CPUs per task (also OPENBLAS_NUM_THREADS).")
  var cpusPerTask: Int = 1

  @Option(help: "Memory per task, as sbatch --mem (e.g. 8G).")
  var mem: String?

  @Option(name: .customLong("run-dir"), help: "Run directory on a shared file system (default: runs/<manifest name> in the current directory; for a run directory's own RUN/manifest.json, RUN).")
  var runDirectory: String?

  @Flag(help: "Submit with sbatch and print the job ids.")
  var submit = false

  func validate() throws {
    guard array >= 1, array <= ShardSpec.maximumCount else { throw ValidationError("--array must be from 1 to \(ShardSpec.maximumCount), got \(array)") }
    guard cpusPerTask >= 1 else { throw ValidationError("--cpus-per-task must be at least 1, got \(cpusPerTask)") }
    for (option, value) in [("--time", time), ("--finish-time", finishTime)] {
      guard let value else { continue }
      guard let seconds = Self.seconds(ofSlurmTime: value) else {
        throw ValidationError("\(option): expected a Slurm time such as 30, 4:00:00 or 2-00:00:00, got \"\(value)\"")
      }
      // 0 is no limit. Slurm may send the --signal up to 60 s early (its event resolution).
      if option == "--time", seconds != 0, seconds <= SlurmScripts.defaultSignalLeadSeconds + 60 {
        throw ValidationError("--time \(value): \(seconds) s leaves no time to compute: SIGTERM comes \(SlurmScripts.defaultSignalLeadSeconds) s before the limit (up to 60 s earlier); give more than 3 minutes, e.g. 30 or 4:00:00")
      }
    }
    guard maxRequeues >= 0 else { throw ValidationError("--max-requeues must be at least 0, got \(maxRequeues)") }
    if let mem, mem.range(of: #"^[0-9]+[KMGT]?$"#, options: .regularExpression) == nil {
      throw ValidationError("--mem: expected a size such as 8000, 8G or 512M, got \"\(mem)\"")
    }
    if let partition, partition.isEmpty || !partition.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-,.".contains($0)) }) {
      throw ValidationError("--partition: expected a partition name (letters, digits, _ - , .), got \"\(partition)\"")
    }
  }

  func run() throws {
    try CLIError.reporting {
      let manifest = try ManifestInput.load(path: self.manifest)
      try RunPipeline.refuseTrainingWithShards(manifest, path: self.manifest)
      let cwd = FileManager.default.currentDirectoryPath
      let scripts = SlurmScripts(
        ntkbatch: try Self.executablePath(), manifest: NormalisedPath.absolute(self.manifest, in: cwd),
        runDirectory: NormalisedPath.absolute(runDirectory ?? RunDirectory.defaultPath(manifestPath: self.manifest, name: manifest.name), in: cwd), workingDirectory: cwd,
        name: manifest.name, shards: array, partition: partition, time: time, cpusPerTask: cpusPerTask, memory: mem,
        dtype: manifest.ntk.precision.rawValue, finishTime: finishTime ?? time, maxRequeues: maxRequeues)
      if let tiles = Self.knownTileCount(manifest), array > tiles {
        printWarning("--array \(array): the plan has only \(Plural.count(tiles, "tile")), so \(array - tiles) or more shards will be empty (each still a job); consider --array \(tiles) or fewer")
      }
      for path in [scripts.runDirectory, scripts.workingDirectory] where path.contains(where: { $0.isWhitespace || $0 == "'" || $0 == "\"" || $0 == "\\" }) {
        throw CLIError.BadInput("\(path): Slurm scripts need paths without white space, quotes or backslashes")
      }
      // What `run` would refuse for this directory and manifest (every task would exit 2), before
      // writing into it; with --mem, the memory check does it with the same loaded data.
      let run = RunDirectory(path: scripts.runDirectory)
      if let mem, let bytes = SlurmMemoryCheck.bytes(ofSlurmMemory: mem) {
        try manifest.ntk.precision.dispatch(SlurmMemoryCheck(mem: mem, memBytes: bytes, manifest: manifest, path: self.manifest, run: run))
      } else {
        try RunPipeline.refuseForeignRunDirectory(manifest: manifest, run: run)
      }
      try SystemFile.createDirectories(path: scripts.slurmDirectory + "/logs")
      try AtomicFile.write(Array(scripts.shardsScript.utf8), to: scripts.shardsScriptPath)
      try AtomicFile.write(Array(scripts.finishScript.utf8), to: scripts.finishScriptPath)
      try AtomicFile.write(Array(scripts.submitScript.utf8), to: scripts.submitScriptPath)
      chmod(scripts.submitScriptPath, 0o755)
      print("wrote \(scripts.shardsScriptPath) (job array 0-\(array - 1): shard K of \(array) per task, requeued on exit 75)")
      print("wrote \(scripts.finishScriptPath) (verify, then assemble \(scripts.outputPath))")
      print("wrote \(scripts.submitScriptPath)")
      guard submit else {
        print("submit with: \(scripts.submitScriptPath)")
        print("  (that is: jobid=$(sbatch --parsable \(scripts.shardsScriptPath)) && sbatch --dependency=afterok:$jobid --kill-on-invalid-dep=yes \(scripts.finishScriptPath))")
        return
      }
      let array = try Self.sbatch([scripts.shardsScriptPath])
      let finish = try Self.sbatch(["--dependency=afterok:\(array)", "--kill-on-invalid-dep=yes", scripts.finishScriptPath])
      print("submitted shards: job \(array) (array 0-\(self.array - 1)); verify + assemble: job \(finish) (after every shard completes)")
      print("follow with: squeue -j \(array),\(finish); ntkbatch status \(scripts.runDirectory)")
    }
  }

  /// Runs `sbatch --parsable ARGS` and returns the job id.
  private static func sbatch(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["sbatch", "--parsable"] + arguments
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    do { try process.run() } catch {
      throw CheckpointError(.failure, "sbatch: cannot start: \(error.localizedDescription)")
    }
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard process.terminationStatus == 0, let id = text.split(separator: ";").first, !id.isEmpty else {
      let message = String(decoding: err, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      throw CheckpointError(.failure, "sbatch \(arguments.last ?? ""): exit \(process.terminationStatus): \(message.isEmpty ? "no job id printed" : message)")
    }
    return String(id)
  }

  /// Seconds of a Slurm time (`sbatch --time`): minutes, minutes:seconds, hours:minutes:seconds,
  /// days-hours, days-hours:minutes or days-hours:minutes:seconds; nil if malformed.
  static func seconds(ofSlurmTime text: String) -> Int? {
    guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ":" || $0 == "-") }) else { return nil }
    let dayParts = text.split(separator: "-", omittingEmptySubsequences: false)
    guard dayParts.count <= 2 else { return nil }
    let clock = dayParts.last!.split(separator: ":", omittingEmptySubsequences: false)
    guard clock.count <= 3, clock.allSatisfy({ !$0.isEmpty && $0.count <= 9 }) else { return nil }
    let fields = clock.map { Int($0)! }
    guard dayParts.count == 2 else {
      switch fields.count {
      case 1: return fields[0] * 60
      case 2: return fields[0] * 60 + fields[1]
      default: return fields[0] * 3600 + fields[1] * 60 + fields[2]
      }
    }
    guard !dayParts[0].isEmpty, dayParts[0].count <= 6, let days = Int(dayParts[0]) else { return nil }
    let units = [3600, 60, 1]
    return days * 86400 + zip(fields, units).reduce(0) { $0 + $1.0 * $1.1 }
  }

  /// Tiles of the plan when the manifest alone tells (a `dataset.subsample` and a fixed
  /// `ntk.tileSamples`; a cross run also a `columns.subsample`: b·b_cols tiles); nil otherwise
  /// (the dataset's size would have to be read).
  static func knownTileCount(_ manifest: Manifest) -> Int? {
    guard let n = manifest.dataset.subsample, n > 0, let side = manifest.ntk.tileSamples, side > 0 else { return nil }
    let blocks = (n + side - 1) / side
    guard let columns = manifest.columns else { return blocks * (blocks + 1) / 2 }
    guard let nc = columns.subsample, nc > 0 else { return nil }
    return blocks * ((nc + side - 1) / side)
  }

  private func printWarning(_ message: String) {
    StandardStream.error("warning: \(message)\n")
  }

  /// This executable's absolute path (`/proc/self/exe`).
  private static func executablePath() throws -> String {
    if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
    return NormalisedPath.absolute(CommandLine.arguments[0], in: FileManager.default.currentDirectoryPath)
  }
}
