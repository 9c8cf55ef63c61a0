import Checkpoint
import Datasets
import Engine
import Foundation
import Pipeline
import Storage

/// `ntkbatch slurm --mem M`: refuses a memory limit in which no task could run the plan, before
/// any script is written (every task would otherwise exit 2 after queueing, and the finish job be
/// cancelled).
///
/// A task's budget is what `run` takes on its node: `ntk.memoryBudget`, or for "auto" 3/4 of the
/// memory available, which Slurm's cgroup caps at `--mem`. What a tile needs comes from the same
/// memory model `check` and `run` use (`TileMemoryPlan`, with this process's resident size after
/// loading the dataset and weights as the base, as `check` measures it). It also refuses what
/// `RunPipeline.refuseForeignRunDirectory` refuses, first, loading the dataset and weights once
/// for both.
struct SlurmMemoryCheck: PrecisionGeneric {
  /// The `--mem` value as given, and in bytes.
  let mem: String
  let memBytes: Int
  let manifest: Manifest
  /// The manifest's path (for messages).
  let path: String
  /// The run directory the scripts are for.
  let run: RunDirectory

  /// Added to a tile's need before the `--mem` a refusal suggests: the need's base is this
  /// process's resident size, which a task (and the next `slurm` call) measures again and may find
  /// a MiB or so larger, so a suggestion without it could itself be refused.
  static let residentMargin = 8 << 20

  /// Bytes of an sbatch `--mem` value: a number of MiB, or with a K, M, G or T suffix; nil if malformed.
  static func bytes(ofSlurmMemory text: String) -> Int? {
    guard let last = text.last else { return nil }
    let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
    let (digits, unit) = units[last].map { (text.dropLast(), $0) } ?? (Substring(text), 1 << 20)
    guard let value = Int(digits) else { return nil }
    let (bytes, overflow) = value.multipliedReportingOverflow(by: unit)
    return overflow ? Int.max : bytes
  }

  func execute<T: BLASScalar>(_: T.Type) throws {
    let mebibytes = MemorySizeText.mebibytesRoundedUp  // --mem values that hold a need
    let foreignCheck = try RunPipeline.foreignCheckTileSamples(manifest: manifest, run: run)
    if foreignCheck == nil, let budget = manifest.ntk.memoryBudget, budget > memBytes {
      throw budgetOverMem(budget)  // before loading anything
    }
    ReturnFreedMemory.configure()  // as `run` and `check` do before loading: the base they measure
    let dataset = try DatasetLoader.load(manifest, scalar: T.self, showProgress: false)
    let columns = try DatasetLoader.loadColumns(manifest, scalar: T.self, showProgress: false)
    let model = try WeightsLoader.model(for: manifest, scalar: T.self)
    if let tileSamples = foreignCheck {
      try RunPipeline.refuseForeignRunDirectory(manifest: manifest, run: run, tileSamples: tileSamples, model: model, dataset: dataset, columns: columns)
      if let budget = manifest.ntk.memoryBudget, budget > memBytes { throw budgetOverMem(budget) }
    }
    let base = (ProcessMemory.residentBytes() ?? 0) + RunPipeline.fixedOverheadBytes
    let automatic = manifest.ntk.memoryBudget == nil
    let budget = manifest.ntk.memoryBudget ?? memBytes / 4 * 3
    let n = dataset.inputs.batchSize, nc = columns?.inputs.batchSize
    do {
      _ = try TileMemoryPlan.make(model: model, sampleCount: n, budgetBytes: budget, baseBytes: base, tileSamples: manifest.ntk.tileSamples,
                                  columnSampleCount: nc, variant: manifest.ntk.kernel.engineVariant)
    } catch let error as EngineError where error.code == .memoryBudget {
      // The smallest working set `run` would accept: the tile asked for, or one sample a side for "auto".
      let t = min(manifest.ntk.tileSamples ?? 1, max(1, max(n, nc ?? 0)))
      let needed = TileMemoryPlan.need(model, n: n, t: t, base: base, columnSampleCount: nc,
                                       variant: manifest.ntk.kernel.engineVariant).bytes
      let tile = manifest.ntk.tileSamples.map { "ntk.tileSamples \($0)" } ?? "the smallest tile (ntk.tileSamples \"auto\", one sample a side)"
      let budgetText = "\(MemorySizeText.limit(budget)) (ntk.memoryBudget\(automatic ? " \"auto\": 3/4 of --mem" : ""))"
      let fix = automatic
        ? "give --mem \(mebibytes((needed + Self.residentMargin) * 4 / 3))M or more\(manifest.ntk.tileSamples != nil ? ", or a smaller ntk.tileSamples" : "")"
        : "raise ntk.memoryBudget (and --mem) to \(mebibytes(needed)) MiB or more\(manifest.ntk.tileSamples != nil ? ", or use a smaller ntk.tileSamples" : "")"
      throw CLIError.BadInput("--mem \(mem): \(tile) of \(path) needs about \(MemorySizeText.need(needed)) per task (\(model.name), P = \(model.parameterCount), \(Plural.count(n, "sample")); as `ntkbatch check` estimates it), over each task's budget of \(budgetText); \(fix)")
    }
  }

  /// `ntk.memoryBudget` over `--mem`: each task would plan for more than Slurm lets it use.
  private func budgetOverMem(_ budget: Int) -> CLIError.BadInput {
    let mebibytes = MemorySizeText.mebibytesRoundedUp(budget)  // the --mem that holds the budget
    return CLIError.BadInput("--mem \(mem): below ntk.memoryBudget (\(mebibytes) MiB) of \(path): each task would plan for more memory than Slurm lets it use and be killed; give --mem \(mebibytes)M or more, or a smaller ntk.memoryBudget")
  }
}
