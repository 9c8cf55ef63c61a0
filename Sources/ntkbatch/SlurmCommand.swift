import ArgumentParser
import Checkpoint
import Engine
import Foundation
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
      itself when that exits 75; one log per task in RUN/slurm/logs/shard-K.log, appended \
      across attempts), RUN/slurm/finish.sbatch (verify, then assemble RUN/NAME-entk-DTYPE.npy) \
      and RUN/slurm/submit.sh, which submits the array and the finish job with \
      --dependency=afterok on it. Without --submit, prints where the scripts are and the command \
      to submit them; with --submit, submits them (sbatch must be on the PATH) and prints the job \
      ids. RUN must be on a file system every node sees (NFS, Lustre). Use a fixed \
      ntk.tileSamples (not "auto") unless every node has the same memory.
      """)

  @Argument(help: "The manifest (JSON; see the README).")
  var manifest: String

  @Option(help: "Number of shards: array tasks 0…N-1.")
  var array: Int

  @Option(help: "Slurm partition (default: the cluster's default).")
  var partition: String?

  @Option(help: "Time limit per task, as sbatch --time (e.g. 4:00:00); SIGTERM comes 120 s before it.")
  var time: String?

  @Option(name: .customLong("cpus-per-task"), help: "CPUs per task (also OPENBLAS_NUM_THREADS).")
  var cpusPerTask: Int = 1

  @Option(help: "Memory per task, as sbatch --mem (e.g. 8G).")
  var mem: String?

  @Option(name: .customLong("run-dir"), help: "Run directory on a shared file system (default: runs/<manifest name> in the current directory).")
  var runDirectory: String?

  @Flag(help: "Submit with sbatch and print the job ids.")
  var submit = false

  func validate() throws {
    guard array >= 1, array <= ShardSpec.maximumCount else { throw ValidationError("--array must be from 1 to \(ShardSpec.maximumCount), got \(array)") }
    guard cpusPerTask >= 1 else { throw ValidationError("--cpus-per-task must be at least 1, got \(cpusPerTask)") }
    if let time, time.isEmpty || !time.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ":" || $0 == "-") }) {
      throw ValidationError("--time: expected a Slurm time such as 30, 4:00:00 or 2-00:00:00, got \"\(time)\"")
    }
    if let mem, mem.range(of: #"^[0-9]+[KMGT]?$"#, options: .regularExpression) == nil {
      throw ValidationError("--mem: expected a size such as 8000, 8G or 512M, got \"\(mem)\"")
    }
    if let partition, partition.isEmpty || !partition.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-,.".contains($0)) }) {
      throw ValidationError("--partition: expected a partition name (letters, digits, _ - , .), got \"\(partition)\"")
    }
  }

  func run() throws {
    try CLIError.reporting {
      let manifest = try Manifest.load(path: self.manifest, knownModels: Set(ModelZoo.names))
      let cwd = FileManager.default.currentDirectoryPath
      let scripts = SlurmScripts(
        ntkbatch: try Self.executablePath(), manifest: Self.absolute(self.manifest, in: cwd),
        runDirectory: Self.absolute(runDirectory ?? "runs/\(manifest.name)", in: cwd), workingDirectory: cwd,
        name: manifest.name, shards: array, partition: partition, time: time, cpusPerTask: cpusPerTask, memory: mem,
        dtype: manifest.ntk.precision.rawValue)
      for path in [scripts.runDirectory, scripts.workingDirectory] where path.contains(where: { $0.isWhitespace || $0 == "'" || $0 == "\"" }) {
        throw CLIError.BadInput("\(path): Slurm scripts need paths without white space or quotes")
      }
      do {
        try FileManager.default.createDirectory(atPath: scripts.slurmDirectory + "/logs", withIntermediateDirectories: true)
      } catch {
        throw CheckpointError(.failure, "\(scripts.slurmDirectory)/logs: cannot create directory: \(error.localizedDescription)")
      }
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

  /// This executable's absolute path (`/proc/self/exe`).
  private static func executablePath() throws -> String {
    if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
    return absolute(CommandLine.arguments[0], in: FileManager.default.currentDirectoryPath)
  }

  private static func absolute(_ path: String, in directory: String) -> String {
    let joined = path.hasPrefix("/") ? path : directory + "/" + path
    return (joined as NSString).standardizingPath
  }
}
