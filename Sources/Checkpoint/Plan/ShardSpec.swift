import Foundation

/// Which share of a run one process computes: shard `index` (0-based) of `count`.
///
/// Spelled `K/N` on the command line (`ntkbatch run --shard 3/100`), or taken from the
/// environment of a job array:
/// - `slurm`: `SLURM_ARRAY_TASK_ID` of `SLURM_ARRAY_TASK_MAX + 1`, only for a whole 0-based array
///   (`sbatch --array=0-(N−1)`: `SLURM_ARRAY_TASK_MIN` 0 and `SLURM_ARRAY_TASK_COUNT` = MAX + 1);
///   any other array (`--array=1,3`, a lone `--array=2`, re-running some tasks) is refused, since
///   its environment does not say N: use `K/N` there (`--shard "${SLURM_ARRAY_TASK_ID}/N"`);
/// - `env`: as `slurm` when those are set, else `JOB_COMPLETION_INDEX` (Kubernetes Indexed Job)
///   of `NTKBATCH_SHARD_COUNT` (set it to the Job's `completions`).
public struct ShardSpec: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
  /// Shard K, `0 ..< count`.
  public var index: Int
  /// Number of shards N ≥ 1.
  public var count: Int

  /// Largest N accepted (a plan has at most ~8.4 million tiles; more shards than that are empty).
  public static let maximumCount = 1_000_000

  /// - Throws: `CheckpointError` (`.badInput`) unless `1 ≤ count ≤ maximumCount` and `0 ≤ index < count`.
  public init(index: Int, count: Int) throws {
    guard count >= 1, count <= ShardSpec.maximumCount else {
      throw CheckpointError(.badInput, "--shard: expected a shard count from 1 to \(ShardSpec.maximumCount), found \(count)")
    }
    guard index >= 0, index < count else {
      throw CheckpointError(.badInput, "--shard: shard index \(index) is outside 0…\(count - 1) (shards are numbered from 0)")
    }
    self.index = index
    self.count = count
  }

  /// `"3/100"`.
  public var description: String { "\(index)/\(count)" }

  /// `"shard-3-of-100"`: the shard's tag in journal segment and lock file names.
  public var tag: String { "shard-\(index)-of-\(count)" }

  /// Parses `K/N`, `slurm` or `env` (reading `environment` for the last two).
  ///
  /// - Throws: `CheckpointError` (`.badInput`) naming the option or variable and what was expected.
  public static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ShardSpec {
    switch text {
    case "slurm":
      return try fromSlurm(environment, option: "slurm")
    case "env":
      if environment["SLURM_ARRAY_TASK_ID"] != nil { return try fromSlurm(environment, option: "env") }
      guard let index = environment["JOB_COMPLETION_INDEX"] else {
        throw CheckpointError(.badInput, "--shard env: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set")
      }
      guard let count = environment["NTKBATCH_SHARD_COUNT"] else {
        throw CheckpointError(.badInput, "--shard env: JOB_COMPLETION_INDEX is set but NTKBATCH_SHARD_COUNT (the Job's completions) is not")
      }
      return try ShardSpec(index: integer(index, "JOB_COMPLETION_INDEX"), count: integer(count, "NTKBATCH_SHARD_COUNT"))
    default:
      let parts = text.split(separator: "/", omittingEmptySubsequences: false)
      guard parts.count == 2, let k = canonicalInteger(parts[0]), let n = canonicalInteger(parts[1]) else {
        throw CheckpointError(.badInput, "--shard: expected K/N (e.g. 0/4), slurm or env, found \"\(text.prefix(40))\"")
      }
      return try ShardSpec(index: k, count: n)
    }
  }

  private static func fromSlurm(_ environment: [String: String], option: String) throws -> ShardSpec {
    guard let id = environment["SLURM_ARRAY_TASK_ID"], let count = environment["SLURM_ARRAY_TASK_COUNT"] else {
      throw CheckpointError(.badInput, "--shard \(option): SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT are not set (not in a Slurm job array; submit with sbatch --array=0-(N-1))")
    }
    let index = try integer(id, "SLURM_ARRAY_TASK_ID"), taskCount = try integer(count, "SLURM_ARRAY_TASK_COUNT")
    let minimum = try environment["SLURM_ARRAY_TASK_MIN"].map { try integer($0, "SLURM_ARRAY_TASK_MIN") } ?? 0
    let maximum = try environment["SLURM_ARRAY_TASK_MAX"].map { try integer($0, "SLURM_ARRAY_TASK_MAX") } ?? (taskCount - 1)
    guard minimum == 0, taskCount == maximum + 1 else {
      throw CheckpointError(.badInput, "--shard \(option): the job array is not 0-\(maximum) without gaps (task \(index): min \(minimum), max \(maximum), \(taskCount) tasks), so N is unknown; use --shard \"${SLURM_ARRAY_TASK_ID}/N\" with the run's shard count N")
    }
    return try ShardSpec(index: index, count: taskCount)
  }

  /// A non-negative decimal without sign or leading zeros (`0`, `12`), else nil.
  private static func canonicalInteger(_ text: Substring) -> Int? {
    guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), text == "0" || !text.hasPrefix("0") else { return nil }
    return Int(text)
  }

  private static func integer(_ text: String, _ name: String) throws -> Int {
    guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
      throw CheckpointError(.badInput, "--shard: \(name) is \"\(text.prefix(40))\", expected an integer")
    }
    return value
  }
}
