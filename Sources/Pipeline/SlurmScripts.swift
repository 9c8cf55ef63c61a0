import Foundation
import Storage

/// The two batch scripts of `ntkbatch slurm`: a job array whose task K runs shard K of N (and
/// requeues itself when stopped by a signal), and a job that runs `verify` and `assemble` once the
/// whole array has completed (`--dependency=afterok:<array job>`).
///
/// What Slurm sends, and how the scripts use it:
/// - **time limit**: `--signal=B:TERM@<lead>` makes Slurm send SIGTERM to the batch shell `lead`
///   seconds before the limit; the shell forwards it to `ntkbatch run`, which abandons the tile in
///   progress and exits 75 within seconds; the script then runs `scontrol requeue` on its own task,
///   which goes back to the queue and later continues the shard. (At the limit itself Slurm sends
///   SIGTERM to every process, then SIGKILL after `KillWait`, 30 s by default.)
/// - **preemption** (`PreemptMode=REQUEUE`): SIGTERM to the job's processes (after `GraceTime`,
///   SIGKILL); `run` exits 75 and Slurm requeues the `--requeue` task itself.
/// - **`scancel --batch --signal=TERM`** (a plain `scancel --signal=TERM` signals only `srun`
///   steps; `run` is in the batch step): the task stays `RUNNING`, `run` exits 75 and the script
///   requeues it.
/// - **`scancel`** of the job or a task (and preemption with `PreemptMode=CANCEL`): SIGTERM while
///   the task is already `COMPLETING` (`squeue -o %T`); `run` exits 75 and the script does not
///   requeue it: a cancelled array stays cancelled.
/// - **node failure** (`--requeue`): Slurm requeues the task; it resumes from the journal.
/// Paths go into `#SBATCH` lines unquoted, so `ntkbatch slurm` refuses paths with white space,
/// quotes or backslashes; in `--output` patterns `%` is written `%%` (`filenamePattern`).
/// Requeued tasks become eligible again after a delay Slurm sets (about two minutes in 22.05).
public struct SlurmScripts {
  public var ntkbatch: String
  public var manifest: String
  public var runDirectory: String
  public var workingDirectory: String
  public var name: String
  public var shards: Int
  public var partition: String?
  public var time: String?
  public var cpusPerTask: Int
  public var memory: String?
  public var dtype: String
  /// Time limit of the verify + assemble job (sbatch --time), nil: the cluster's default.
  public var finishTime: String?
  /// Requeues in a row of one task whose attempts journaled no new tile of its shard; an exit 75
  /// of the attempt after that is no longer requeued: a tile that never fits in the time limit would otherwise loop for
  /// ever. Attempts that journal tiles reset the count, so a long shard with a short `--time` is
  /// requeued as often as it needs (`noProgressPath`).
  public var maxRequeues = 20
  /// Seconds before the time limit at which Slurm signals the batch shell.
  public var signalLeadSeconds = SlurmScripts.defaultSignalLeadSeconds
  public static let defaultSignalLeadSeconds = 120

  public init(ntkbatch: String, manifest: String, runDirectory: String, workingDirectory: String, name: String, shards: Int,
              partition: String?, time: String?, cpusPerTask: Int, memory: String?, dtype: String, finishTime: String?,
              maxRequeues: Int = 20, signalLeadSeconds: Int = SlurmScripts.defaultSignalLeadSeconds) {
    self.ntkbatch = ntkbatch
    self.manifest = manifest
    self.runDirectory = runDirectory
    self.workingDirectory = workingDirectory
    self.name = name
    self.shards = shards
    self.partition = partition
    self.time = time
    self.cpusPerTask = cpusPerTask
    self.memory = memory
    self.dtype = dtype
    self.finishTime = finishTime
    self.maxRequeues = maxRequeues
    self.signalLeadSeconds = signalLeadSeconds
  }
  /// CPUs of the verify + assemble job: `assemble` fills and converts on two cores.
  public static let finishCPUs = 2

  public var slurmDirectory: String { runDirectory + "/slurm" }
  public var shardsScriptPath: String { slurmDirectory + "/shards.sbatch" }
  public var finishScriptPath: String { slurmDirectory + "/finish.sbatch" }
  public var submitScriptPath: String { slurmDirectory + "/submit.sh" }
  /// `RUN/slurm/no-progress`: per task, `shard-K` holds the number of attempts in a row that
  /// journaled no new tile of shard K (compared with `ntkbatch status RUN --tiles-done --shard K/N`
  /// before and after `run`); removed at a fresh submission (`SLURM_RESTART_COUNT` 0).
  public var noProgressPath: String { slurmDirectory + "/no-progress" }
  /// Next to the run directory (assemble never writes inside it): `DIR/NAME-entk-DTYPE.npy` for `DIR/RUN`.
  public var outputPath: String { AtomicFile.directory(of: runDirectory) + "/\(name)-entk-\(dtype).npy" }

  private var common: [String] {
    var lines: [String] = []
    if let partition { lines.append("#SBATCH --partition=\(partition)") }
    if let memory { lines.append("#SBATCH --mem=\(memory)") }
    lines.append("#SBATCH --chdir=\(workingDirectory)")
    return lines
  }

  /// The job array: task K runs `ntkbatch run MANIFEST --shard K/N` (N written in, so that
  /// re-submitting some tasks, `sbatch --array=1,3 shards.sbatch`, runs the same shards) and
  /// requeues itself on exit 75.
  public var shardsScript: String {
    var lines = ["#!/bin/bash",
                 "# ntkbatch slurm: shard K of \(shards) of \(name) per array task; see docs/durability.md, What Slurm sends",
                 "#SBATCH --job-name=ntk-\(name)",
                 "#SBATCH --array=0-\(shards - 1)",
                 "#SBATCH --requeue",
                 "#SBATCH --signal=B:TERM@\(signalLeadSeconds)",
                 "#SBATCH --open-mode=append",
                 "#SBATCH --output=\(Self.filenamePattern(slurmDirectory))/logs/shard-%a.log",
                 "#SBATCH --ntasks=1",
                 "#SBATCH --cpus-per-task=\(cpusPerTask)"]
    if let time { lines.append("#SBATCH --time=\(time)") }
    lines += common
    lines += [
      "set -u",
      "export OPENBLAS_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-\(cpusPerTask)}\"",
      "echo \"ntkbatch shard ${SLURM_ARRAY_TASK_ID} of \(shards), job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}, attempt $(( ${SLURM_RESTART_COUNT:-0} + 1 )) on $(hostname) at $(date -u +%FT%TZ)\"",
      "# Attempts in a row that journaled no new tile of this shard (reset by any new tile, and by a fresh submission).",
      "streak_file=\(quoted(noProgressPath))/\"shard-${SLURM_ARRAY_TASK_ID}\"",
      "mkdir -p \(quoted(noProgressPath))",
      "[ \"${SLURM_RESTART_COUNT:-0}\" -eq 0 ] && rm -f \"$streak_file\"",
      "tiles_done() {  # journaled tiles of this shard; 0 if unknown (no journal yet)",
      "  local n",
      "  n=$(\(quoted(ntkbatch)) status \(quoted(runDirectory)) --tiles-done --shard \"${SLURM_ARRAY_TASK_ID}/\(shards)\" 2>/dev/null)",
      "  case \"$n\" in ''|*[!0-9]*) echo 0 ;; *) echo \"$n\" ;; esac",
      "}",
      "before=$(tiles_done)",
      "# Slurm signals this shell (--signal=B:TERM, scancel --batch): pass it on to ntkbatch.",
      "trap 'kill -TERM \"$pid\" 2>/dev/null' TERM INT",
      "\(quoted(ntkbatch)) run \(quoted(manifest)) --run-dir \(quoted(runDirectory)) --shard \"${SLURM_ARRAY_TASK_ID}/\(shards)\" --progress lines &",
      "pid=$!",
      "wait \"$pid\"; rc=$?",
      "# A trap interrupts wait (status > 128): wait again for ntkbatch's own status (127: already collected).",
      "while [ \"$rc\" -gt 128 ]; do wait \"$pid\"; next=$?; [ \"$next\" -eq 127 ] && break; rc=$next; done",
      "echo \"ntkbatch exited with $rc at $(date -u +%FT%TZ)\"",
      "state=''",
      "if [ \"$rc\" -eq 75 ]; then",
      "  # RUNNING when the time-limit signal (--signal=B:TERM) or scancel --batch --signal=TERM stopped ntkbatch;",
      "  # COMPLETING when the task is ending anyway: scancel (cancelled), or preemption (PreemptMode=CANCEL or REQUEUE).",
      "  state=$(squeue -h -j \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\" -o %T 2>/dev/null)",
      "  after=$(tiles_done)",
      "  streak=$(cat \"$streak_file\" 2>/dev/null); case \"$streak\" in ''|*[!0-9]*) streak=0 ;; esac",
      "  if [ \"$after\" -gt \"$before\" ]; then streak=0; else streak=$((streak + 1)); fi",
      "  echo \"$streak\" > \"$streak_file\"",
      "  new=$((after - before)); if [ \"$new\" -eq 1 ]; then noun=tile; else noun=tiles; fi",
      "  echo \"this attempt journaled $new new $noun of shard ${SLURM_ARRAY_TASK_ID} ($after in all); attempts in a row without a new tile: $streak (requeued while at most \(maxRequeues))\"",
      "fi",
      "if [ \"$rc\" -eq 75 ] && [ \"$streak\" -gt \(maxRequeues) ]; then",
      "  # Requeued \(maxRequeues) times in a row without a new tile: a tile may never fit in the time limit. Stop looping.",
      "  if [ \"$streak\" -eq 1 ]; then noun=attempt; else noun=attempts; fi",
      "  echo \"not requeued: $streak $noun in a row journaled no new tile of this shard (ntkbatch slurm --max-requeues \(maxRequeues)); if a tile does not fit in the time limit, raise --time or lower ntk.tileSamples, then resubmit this task: sbatch --array=${SLURM_ARRAY_TASK_ID} \(shardsScriptPath)\"",
      "elif [ \"$rc\" -eq 75 ] && [ -n \"$state\" ] && [ \"$state\" != RUNNING ]; then",
      "  # Slurm is ending this task (scancel of the job or task, or preemption): cancelled means stop; a preempted --requeue task Slurm requeues itself.",
      "  echo \"not requeued by this script: the task is $state, not RUNNING (cancelled with scancel, or preempted; Slurm itself requeues a task preempted with PreemptMode=REQUEUE); to run it again: sbatch --array=${SLURM_ARRAY_TASK_ID} \(shardsScriptPath)\"",
      "elif [ \"$rc\" -eq 75 ]; then",
      "  # Stopped by a signal while the task runs on (time limit near, scancel --batch --signal=TERM): resumable. Back to the queue.",
      "  scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\" || echo \"scontrol requeue failed (Slurm may requeue the task itself)\"",
      "fi",
      "exit \"$rc\"",
    ]
    return lines.joined(separator: "\n") + "\n"
  }

  /// The dependent job: `verify`, then `assemble` into `outputPath`.
  public var finishScript: String {
    var lines = ["#!/bin/bash",
                 "# ntkbatch slurm: runs once every shard of \(name) has completed (submitted with --dependency=afterok:<array job>)",
                 "#SBATCH --job-name=ntk-\(name)-assemble",
                 "#SBATCH --output=\(Self.filenamePattern(slurmDirectory))/logs/finish.log",
                 "#SBATCH --ntasks=1",
                 "#SBATCH --cpus-per-task=\(Self.finishCPUs)"]
    if let finishTime { lines.append("#SBATCH --time=\(finishTime)") }
    lines += common
    lines += [
      "set -eu",
      "\(quoted(ntkbatch)) verify \(quoted(runDirectory))",
      "\(quoted(ntkbatch)) assemble \(quoted(runDirectory)) --dtype \(dtype) --output \(quoted(outputPath))",
      "echo \"assembled \(outputPath) at $(date -u +%FT%TZ)\"",
    ]
    return lines.joined(separator: "\n") + "\n"
  }

  /// Submits both, the second after the first completes.
  public var submitScript: String {
    ["#!/bin/bash",
     "# Submits the shard array, then the verify + assemble job depending on it; prints both job ids.",
     "set -eu",
     "array=$(sbatch --parsable \(quoted(shardsScriptPath)))",
     "array=${array%%;*}",
     "finish=$(sbatch --parsable --dependency=afterok:\"$array\" --kill-on-invalid-dep=yes \(quoted(finishScriptPath)))",
     "echo \"shards: job $array (array 0-\(shards - 1)); verify + assemble: job ${finish%%;*} (after every shard completes)\"",
    ].joined(separator: "\n") + "\n"
  }

  /// `path` as literal text in an sbatch filename pattern (`--output`, `--error`), where Slurm
  /// replaces `%j`, `%a`, `%x`, `%u`, … : every `%` written `%%`. (A backslash would turn all
  /// replacement off, so `ntkbatch slurm` refuses paths with one.)
  public static func filenamePattern(_ path: String) -> String {
    path.replacingOccurrences(of: "%", with: "%%")
  }

  /// `'text'` for the shell.
  public func quoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
