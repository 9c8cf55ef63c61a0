import ArgumentParser
import Checkpoint
import Engine
import Foundation
import Storage

/// `ntkbatch check MANIFEST`: validates a manifest, reads its dataset and weights exactly as
/// `run` would, and prints the plan — without computing a tile or touching a run directory.
struct CheckCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Validate a manifest with its dataset and weights, and print the plan without computing.",
    discussion: """
      Prints the model and its parameter count P, the number of samples n, the tile plan \
      (blocks, tiles, raw bytes of the upper triangle) and the assembled matrix ((n·10) × (n·10), \
      bytes at the run precision). Exit 0 if `run` would start; 2 with a one-line error naming \
      the file and field otherwise. Never downloads (a manifest with dataset.download reads the \
      files already there).
      """)

  @Argument(help: "The manifest (JSON; see the README).")
  var manifest: String

  func run() throws {
    try CLIError.reporting {
      let manifest = try Manifest.load(path: self.manifest, knownModels: Set(ModelZoo.names))
      var offline = manifest
      offline.dataset.download = nil
      switch manifest.ntk.precision {
      case .float32: try describe(offline, Float.self)
      case .float64: try describe(offline, Double.self)
      }
    }
  }

  private func describe<T: BLASScalar>(_ manifest: Manifest, _: T.Type) throws {
    let dataset = try DatasetLoader.load(manifest, scalar: T.self, showProgress: false)
    let model = try WeightsLoader.model(for: manifest, scalar: T.self)
    // As `run` plans it (a run directory's recorded tile size, which `run` reuses for "auto", is not consulted here).
    let budget = manifest.ntk.memoryBudget ?? ProcessMemory.automaticBudget()
    let memory: TileMemoryPlan
    do {
      memory = try TileMemoryPlan.make(
        model: model, sampleCount: dataset.inputs.batchSize, budgetBytes: budget,
        baseBytes: (ProcessMemory.residentBytes() ?? 0) + RunPipeline.fixedOverheadBytes, tileSamples: manifest.ntk.tileSamples)
    } catch let error as EngineError {
      throw CLIError.BadInput("\(self.manifest): \(error.message)")  // as `run` would stop, exit 2
    }
    let memoryLine = "budget \(budget >> 20) MiB, \(memory.strategy.rawValue), estimated peak \(memory.workingBytes >> 20) MiB without cache"
    let plan = try TilePlan(sampleCount: dataset.inputs.batchSize, tileSamples: memory.tileSamples,
                            precision: manifest.ntk.precision)
    let dimension = plan.dimension
    let element = manifest.ntk.precision == .float32 ? 4 : 8
    print("manifest: \(self.manifest) (\(manifest.name)) is valid")
    print("model:    \(manifest.model.name), width \(manifest.model.width), P = \(model.parameterCount) parameters, weights \(manifest.resolvedWeightsPath ?? "init (seed \(manifest.model.seed))")")
    print("dataset:  \(manifest.dataset.name), n = \(plan.sampleCount) samples")
    print("plan:     \(plan.blockCount) blocks of up to \(plan.tileSamples) samples, \(plan.tiles.count) tiles, \(plan.rawByteCount) raw bytes (\(manifest.ntk.precision.rawValue))")
    print("memory:   \(memoryLine)")
    print("matrix:   \(dimension) × \(dimension), \(dimension * dimension * element) bytes as \(manifest.ntk.precision.rawValue), normalization \(manifest.ntk.normalization.rawValue)")
  }
}
