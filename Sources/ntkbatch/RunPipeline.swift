import Checkpoint
import Engine
import Foundation
import Storage

/// One `run` session, in data-flow order: manifest → dataset and weights (hashed) → identity →
/// session (lock, journal) → logits → tiles → objects → journal.
struct RunPipeline {
  /// How the session ended.
  enum Outcome: Equatable {
    /// Every tile is journaled.
    case complete
    /// `--max-tiles` reached; the rest is left for a later session.
    case paused
    /// SIGINT or SIGTERM: stopped after the tile in progress.
    case stoppedBySignal
  }

  var manifest: Manifest
  var run: RunDirectory
  var progress: ProgressMode
  var maxTiles: Int?
  /// Watches SIGINT/SIGTERM from before loading, so a stop request at any moment ends in exit 75.
  var signals = SignalWatch()

  /// Resident bytes `run` may need beyond what it measures when planning (OpenBLAS thread
  /// buffers, allocator slack, the journal and object writes): added to the measured resident size
  /// to form the plan's base.
  static let fixedOverheadBytes = 64 << 20

  /// Runs the session in precision `T`.
  func execute<T: BLASScalar>(_: T.Type) throws -> Outcome {
    ReturnFreedMemory.configure()
    let dataset = try DatasetLoader.load(manifest, scalar: T.self, showProgress: progress != .none)
    var model = try WeightsLoader.model(for: manifest, scalar: T.self)
    if let train = manifest.model.train {  // train first; the run identity then holds the trained weights' hash
      let trainingSet = train.samples == manifest.dataset.subsample ? dataset : try trainingData(train, scalar: T.self)
      guard let trained = try TrainPipeline(manifest: manifest, run: run, progress: progress, signals: signals).train(model, dataset: trainingSet)
      else { return .stoppedBySignal }
      model = trained
    }
    let plan = try memoryPlan(model: model, sampleCount: dataset.inputs.batchSize)
    let identity = RunIdentity(
      manifestHash: manifest.canonicalHash, weightsHash: WeightsLoader.hash(model), inputDataHash: dataset.hash,
      sampleCount: dataset.inputs.batchSize, tileSamples: plan.tileSamples,
      precision: manifest.ntk.precision, normalization: manifest.ntk.normalization)
    let session = try RunSession.open(run: run, identity: identity, manifestJSON: manifest.prettyJSON())
    defer { session.close() }
    let computer = EngineTileComputer(model: model, inputs: dataset.inputs, normalization: manifest.ntk.normalization, plan: plan)
    try writeLogits(computer, samples: identity.sampleCount, blockSamples: min(256, plan.tileSamples))
    let outcome = try computeTiles(session: session, plan: identity.plan(), computer: computer, parameters: model.parameterCount)
    reportMemory(plan: plan, computer: computer)
    return outcome
  }

  /// The training set: the first `train.samples` samples of the training split (all when absent),
  /// independent of `dataset.subsample`, which chooses the eNTK's samples.
  private func trainingData<T: BLASScalar>(_ train: Manifest.Training, scalar: T.Type) throws -> DatasetLoader.Loaded<T> {
    var training = manifest
    training.dataset.subsample = train.samples
    return try DatasetLoader.load(training, scalar: T.self, showProgress: false)
  }

  /// The tile size and strategy within `ntk.memoryBudget` (see `TileMemoryPlan`). With
  /// `tileSamples: "auto"` and a run directory that already records a tile size, that size is
  /// reused, so that a resumed run keeps its tiles even if the budget or the machine changed.
  /// Throws `EngineError.memoryBudget` (exit 2) before any work if the tile cannot fit.
  private func memoryPlan<T: BLASScalar>(model: Model<T>, sampleCount: Int) throws -> TileMemoryPlan {
    let budget = manifest.ntk.memoryBudget ?? ProcessMemory.automaticBudget()
    let base = (ProcessMemory.residentBytes() ?? 0) + Self.fixedOverheadBytes
    var tileSamples = manifest.ntk.tileSamples
    if tileSamples == nil, FileManager.default.fileExists(atPath: run.path),
       let recorded = try? run.journal.replay().identity?.tileSamples {
      tileSamples = recorded
    }
    let plan = try TileMemoryPlan.make(model: model, sampleCount: sampleCount, budgetBytes: budget, baseBytes: base,
                                       tileSamples: tileSamples)
    if progress != .none {
      log("memory: budget \(budget >> 20) MiB; \(plan.tileSamples) samples per tile side, \(plan.strategy.rawValue), estimated peak \(plan.workingBytes >> 20) MiB without cache, \(max(0, plan.cacheBytes) >> 20) MiB for cached column blocks")
    }
    if progress == .lines { log(plan.contraction.summary) }
    return plan
  }

  /// With `--progress lines`: the work split and the peak resident size (VmHWM) of this process.
  private func reportMemory<T: BLASScalar>(plan: TileMemoryPlan, computer: EngineTileComputer<T>) {
    guard progress == .lines else { return }
    let stats = computer.source.statistics
    let peak = ProcessMemory.peakResidentBytes() ?? 0
    log("peak resident memory: \(peak) bytes (VmHWM); Jacobian blocks computed: \(stats.blocksComputed) (\(stats.samplesComputed) samples, \(String(format: "%.2f", stats.jacobianSeconds)) s), cache hits: \(stats.cacheHits), contraction \(String(format: "%.2f", stats.contractionSeconds)) s")
  }

  /// `RUN/logits.npy`: the model's logits `[n, 10]` (float64), written once, atomically.
  private func writeLogits<T: BLASScalar>(_ computer: EngineTileComputer<T>, samples: Int, blockSamples: Int) throws {
    let path = run.path + "/logits.npy"
    guard !FileManager.default.fileExists(atPath: path) else { return }
    let logits = try computer.logits(blockSamples: blockSamples).map { Double($0) }
    try AtomicFile.write(NpyArray(shape: [samples, 10], values: logits).encoded(), to: path)
  }

  private func computeTiles<T: BLASScalar>(
    session: RunSession, plan: TilePlan, computer: EngineTileComputer<T>, parameters: Int
  ) throws -> Outcome {
    var display = ProgressDisplay(mode: progress)
    var computedThisSession = 0
    announce(plan: plan, parameters: parameters, alreadyDone: session.journaled.count)
    let outcome = try TileRunner(session: session, plan: plan).run(
      compute: { tile in
        let bytes = try computer.compute(tile)
        computedThisSession += 1
        return bytes
      },
      progress: { state in
        guard let tile = state.lastTile else { return }
        display.tileFinished(index: tile.index, row: tile.rowBlock, column: tile.columnBlock,
                             seconds: session.journaled[tile.index]?.computeSeconds ?? 0, state: state)
      },
      shouldStop: { signals.receivedSignal != nil || (maxTiles.map { computedThisSession >= $0 } ?? false) })
    display.finish()
    switch outcome {
    case .completed:
      log("all \(plan.tiles.count) tiles of \(run.path) are journaled; next: ntkbatch verify \(run.path)")
      return .complete
    case .stopped(let state):
      log("stopped with \(state.tilesDone) of \(plan.tiles.count) tiles journaled; run the same command to continue")
      return signals.receivedSignal != nil ? .stoppedBySignal : .paused
    }
  }

  private func announce(plan: TilePlan, parameters: Int, alreadyDone: Int) {
    guard progress != .none else { return }
    let resumed = alreadyDone > 0 ? ", resuming with \(alreadyDone) already journaled" : ""
    log("\(manifest.model.name) (P = \(parameters)) on \(plan.sampleCount) samples: \(plan.dimension) × \(plan.dimension) eNTK in \(plan.tiles.count) tiles of up to \(plan.tileSamples) samples a side\(resumed); run directory \(run.path)")
  }

  private func log(_ line: String) {
    guard progress != .none else { return }
    FileHandle.standardError.write(Data((line + "\n").utf8))
  }
}
