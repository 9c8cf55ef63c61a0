import Checkpoint
import Datasets
import Engine
import Foundation
import Storage

/// One `run` session, in data-flow order: manifest → dataset and weights (hashed) → identity →
/// session (lock, journal) → logits → tiles → objects → journal.
public struct RunPipeline: PrecisionGeneric {
  /// How the session ended.
  public enum Outcome: Equatable {
    /// Every tile is journaled.
    case complete
    /// `--max-tiles` reached; the rest is left for a later session.
    case paused
    /// SIGINT or SIGTERM: stopped between tiles, or the tile in progress abandoned.
    case stoppedBySignal
  }

  public var manifest: Manifest
  public var run: RunDirectory
  /// Where progress goes (the command line's `--progress` display).
  public var reporter: any RunReporter
  public var maxTiles: Int?
  /// The shard to compute (`nil`: every tile).
  public var shard: ShardSpec? = nil
  /// Stop requests (the command line's SIGINT/SIGTERM watch, started before loading, so a stop
  /// request at any moment ends in `.stoppedBySignal`).
  public var stop: any StopRequests

  public init(manifest: Manifest, run: RunDirectory, reporter: any RunReporter, maxTiles: Int?, shard: ShardSpec? = nil,
              stop: any StopRequests) {
    self.manifest = manifest
    self.run = run
    self.reporter = reporter
    self.maxTiles = maxTiles
    self.shard = shard
    self.stop = stop
  }

  /// Resident bytes `run` may need beyond what it measures when planning (OpenBLAS thread
  /// buffers, allocator slack, the journal and object writes): added to the measured resident size
  /// to form the plan's base.
  public static let fixedOverheadBytes = 64 << 20

  /// Runs the session in the manifest's precision (`ntk.precision`).
  public func execute() throws -> Outcome { try manifest.ntk.precision.dispatch(self) }

  /// The run identity of `manifest` with these weights, data and tile side: what the journal
  /// records and a run directory must match.
  static func identity<T: BLASScalar>(manifest: Manifest, model: Model<T>, dataset: DatasetLoader.Loaded<T>, columns: DatasetLoader.Loaded<T>?,
                                      tileSamples: Int) -> RunIdentity {
    RunIdentity(
      manifestHash: manifest.canonicalHash, weightsHash: WeightsLoader.hash(model), inputDataHash: dataset.hash,
      sampleCount: dataset.inputs.batchSize, tileSamples: tileSamples,
      precision: manifest.ntk.precision, normalization: manifest.ntk.normalization,
      columnSampleCount: columns?.inputs.batchSize, columnInputDataHash: columns?.hash, kernel: manifest.ntk.kernel)
  }

  /// Refuses what `execute` would refuse about the run directory — not a run directory, or one of
  /// another computation (`RunSession.refuseForeign`) — without writing anything (`ntkbatch
  /// slurm`, before it writes RUN/slurm). Loads the dataset and weights (their hashes are part of
  /// the identity) only when the journal records an identity; the tile side is `ntk.tileSamples`,
  /// or for "auto" the recorded one (as `run` takes it). Not for `model.train` manifests (their
  /// weights are the trained ones; `refuseTrainingWithShards` refuses them for shards).
  ///
  /// - Throws: `CheckpointError` (`.badInput`, `.identityMismatch`), or the loaders' errors.
  public static func refuseForeignRunDirectory(manifest: Manifest, run: RunDirectory) throws {
    guard let tileSamples = try foreignCheckTileSamples(manifest: manifest, run: run) else { return }
    try manifest.ntk.precision.dispatch(RunDirectoryCheck(manifest: manifest, run: run, tileSamples: tileSamples))
  }

  /// The first half of `refuseForeignRunDirectory`, which needs no data: refuses a directory that
  /// is not a run directory; returns the tile side to compare identities with when the journal
  /// records one (then the second half, `refuseForeignRunDirectory(manifest:run:tileSamples:…)`,
  /// needs the loaded dataset and weights), `nil` when there is nothing to compare.
  ///
  /// - Throws: `CheckpointError` (`.badInput`), or the journal's errors.
  public static func foreignCheckTileSamples(manifest: Manifest, run: RunDirectory) throws -> Int? {
    try run.refuseForeignContents()
    guard SystemFile.kind(of: run.journalDirectory).exists, let recorded = try run.journal.replay().identity else { return nil }
    return manifest.ntk.tileSamples ?? recorded.tileSamples
  }

  /// The second half of `refuseForeignRunDirectory`, with the dataset and weights already loaded
  /// (`ntkbatch slurm --mem` loads them once for this and its memory check).
  ///
  /// - Throws: `CheckpointError` (`.identityMismatch`).
  public static func refuseForeignRunDirectory<T: BLASScalar>(manifest: Manifest, run: RunDirectory, tileSamples: Int, model: Model<T>,
                                                              dataset: DatasetLoader.Loaded<T>, columns: DatasetLoader.Loaded<T>?) throws {
    let identity = RunPipeline.identity(manifest: manifest, model: model, dataset: dataset, columns: columns, tileSamples: tileSamples)
    try RunSession.refuseForeign(run: run, identity: identity, manifestJSON: manifest.prettyJSON())
  }

  /// `refuseForeignRunDirectory` in the manifest's precision.
  private struct RunDirectoryCheck: PrecisionGeneric {
    let manifest: Manifest
    let run: RunDirectory
    let tileSamples: Int
    func execute<T: BLASScalar>(_: T.Type) throws {
      let dataset = try DatasetLoader.load(manifest, scalar: T.self, showProgress: false)
      let columns = try DatasetLoader.loadColumns(manifest, scalar: T.self, showProgress: false)
      let model = try WeightsLoader.model(for: manifest, scalar: T.self)
      try RunPipeline.refuseForeignRunDirectory(manifest: manifest, run: run, tileSamples: tileSamples, model: model, dataset: dataset, columns: columns)
    }
  }

  /// Runs the session in precision `T`.
  public func execute<T: BLASScalar>(_: T.Type) throws -> Outcome {
    ReturnFreedMemory.configure()
    try WeightsLoader.refuseOverBudget(manifest, scalar: T.self)  // before downloading or loading anything
    let dataset = try DatasetLoader.load(manifest, scalar: T.self, showProgress: reporter.detail != .quiet)
    let columns = try DatasetLoader.loadColumns(manifest, scalar: T.self, showProgress: reporter.detail != .quiet)
    var model = try WeightsLoader.model(for: manifest, scalar: T.self)
    if let train = manifest.model.train {  // train first; the run identity then holds the trained weights' hash
      try refuseOverBudgetBeforeTraining(model: model, sampleCount: dataset.inputs.batchSize, columnSampleCount: columns?.inputs.batchSize)
      let reuse = train.samples == manifest.dataset.subsample && manifest.dataset.split == nil  // the eNTK's samples are the training set
      let trainingSet = reuse ? dataset : try Self.trainingData(manifest: manifest, train, scalar: T.self)
      let journaled = try run.journal.replay().identity?.weightsHash
      // No training record at all (a damaged one is named by training's own error).
      var noTrainingState = false
      do { noTrainingState = try TrainingCheckpointStore(run: run).latestRecord() == nil } catch {}
      if journaled != nil, noTrainingState {
        StandardStream.error("\(run.path): its tiles were computed from trained weights whose training state is gone; training again (the same weights only with the first training's OPENBLAS_NUM_THREADS and BLAS build; now \(Plural.count(BLASCore.threadCount, "thread")))\n")
      }
      guard let trained = try TrainPipeline(manifest: manifest, run: run, reporter: reporter, stop: stop).train(model, dataset: trainingSet)
      else { return .stoppedBySignal }
      model = trained
      if let journaled { try Self.refuseRetrainedWeights(model: model, journaled: journaled, run: run) }
    }
    let plan: TileMemoryPlan
    var stored = manifest  // what RUN/manifest.json is to say
    do {
      plan = try memoryPlan(model: model, sampleCount: dataset.inputs.batchSize, columnSampleCount: columns?.inputs.batchSize)
    } catch let refusal as EngineError where refusal.code == .memoryBudget {
      plan = try planWithoutBudget(refusal, model: model, dataset: dataset, columns: columns)
      stored.ntk.memoryBudget = storedMemoryBudget(default: manifest.ntk.memoryBudget)
    }
    let identity = Self.identity(manifest: manifest, model: model, dataset: dataset, columns: columns, tileSamples: plan.tileSamples)
    let tilePlan = try identity.plan()
    let costs = TileCostModel(model: model, choice: plan.contraction, variant: manifest.ntk.kernel.engineVariant)
    let share = try shard.map { try Self.share(of: $0, plan: tilePlan, costs: costs) }
    let session = try RunSession.open(run: run, identity: identity, manifestJSON: stored.prettyJSON(), shard: shard,
                                      shardTiles: share.map { ($0.first ?? 0)..<(($0.last ?? -1) + 1) }, deferSegment: true)
    defer { session.close() }
    // A session with tiles to compute starts its segment now (`status` shows it from its header
    // on); one with nothing left writes none.
    if (share ?? Array(tilePlan.tiles.indices)).contains(where: { session.journaled[$0] == nil }) { try session.beginSegment() }
    for aside in session.setAsideSegments {  // said even with --progress none: the journal changed
      StandardStream.error("\(aside.segment): ended before its header (\(Plural.count(aside.byteCount, "byte"))): the newest segment of a session that crashed while starting, holding no record; set aside as \(aside.copy) before this session's segment (only a writer's newest segment may end torn)\n")
    }
    for field in session.relocated {  // said even with --progress none: RUN/manifest.json changed
      StandardStream.error("resuming a moved run (same data, weights and settings): \(field)\n")
    }
    if let problem = session.restoredManifest {
      StandardStream.error("\(problem); rewrote it from the manifest given (its canonical hash is the journal's)\n")
    }
    let computer = EngineTileComputer(model: model, inputs: dataset.inputs, normalization: manifest.ntk.normalization, plan: plan,
                                      columnInputs: columns?.inputs, kernel: manifest.ntk.kernel)
    computer.source.cancellation = stop.cancellation
    // The per-sample files beside the tiles: logits and labels of the rows (and of a cross run's columns).
    // Each file's checksum is recorded only for bytes this session computed (or found equal to
    // them): a file without a valid recorded checksum is computed again and compared.
    let batchSamples = min(256, plan.tileSamples)
    let recorded = DerivedChecksums.recorded(in: run)
    var sums: [String: ContentHash] = [:]
    sums[LogitsFile.path(in: run)] = try writeLogits(computer, columns: false, to: LogitsFile.path(in: run), rows: identity.sampleCount,
                                                     batchSamples: batchSamples, recorded: recorded)
    if let labels = dataset.labels { sums[LabelsFile.path(in: run)] = try writeLabels(labels, to: LabelsFile.path(in: run)) }
    if let columns {
      sums[ColumnsFiles.logitsPath(in: run)] = try writeLogits(computer, columns: true, to: ColumnsFiles.logitsPath(in: run),
                                                               rows: columns.inputs.batchSize, batchSamples: batchSamples, recorded: recorded)
      if let labels = columns.labels { sums[ColumnsFiles.labelsPath(in: run)] = try writeLabels(labels, to: ColumnsFiles.labelsPath(in: run)) }
    }
    try DerivedChecksums.record(sums, in: run)
    let outcome = try computeTiles(session: session, plan: tilePlan, share: share, computer: computer, parameters: model.parameterCount)
    reportMemory(plan: plan, computer: computer)
    return outcome
  }

  /// After training again in a run whose journal holds tiles (its training state was deleted or set
  /// aside by `repair`): weights other than the journaled tiles' — training orders its BLAS sums
  /// per OPENBLAS_NUM_THREADS and build — are refused, and their training state is moved to
  /// `RUN/training.other-weights-<time>` so that `export-weights`, `verify` and later runs do not
  /// take them for the weights of the tiles. Nothing of the journal or objects changes.
  ///
  /// - Throws: `CheckpointError` (`.identityMismatch`, exit 2) naming both hashes and where the
  ///   new training state went.
  static func refuseRetrainedWeights<T: BLASScalar>(model: Model<T>, journaled: ContentHash, run: RunDirectory) throws {
    let trained = WeightsLoader.hash(model)
    guard trained != journaled else { return }
    let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
    let aside = try TrainingCheckpointStore(run: run).moveAside(suffix: "other-weights-" + stamp)
    throw CheckpointError(.identityMismatch, "\(run.path): training again gave weights (SHA-256 \(trained.hex.prefix(12))…) other than those its journaled tiles were computed from (\(journaled.hex.prefix(12))…): training orders its BLAS sums by OPENBLAS_NUM_THREADS (now \(BLASCore.threadCount)) and build; the new training state was moved to \(aside), unused; run again with the first training's thread count, or compute into a new --run-dir")
  }

  /// Refuses `model.train` for a sharded run (`run --shard`, `ntkbatch slurm`): shards compute the
  /// eNTK of fixed weights, and training is one sequential computation that must not run once per
  /// shard (each would hold the run's lock for the whole training, and machines with other BLAS
  /// builds would train to other weights, so their tiles could not share a run directory).
  ///
  /// - Throws: `BadInput` naming the manifest and the field, with what to do instead.
  public static func refuseTrainingWithShards(_ manifest: Manifest, path: String) throws {
    guard manifest.model.train != nil else { return }
    throw BadInput("\(path): model.train: a sharded run computes the eNTK of fixed weights; train once without --shard (e.g. `ntkbatch run \(path) --max-tiles 1`), export the weights (`ntkbatch export-weights RUN --output W.safetensors`), then shard a manifest with \"weights\": \"W.safetensors\" and no model.train")
  }

  /// The tile indices of `shard`: its contiguous range of the plan, balanced by estimated FLOP
  /// (`TileCostModel`, as `check --shards` prints it).
  public static func share(of shard: ShardSpec, plan: TilePlan, costs: TileCostModel) throws -> [Int] {
    Array(try shardPlan(plan: plan, shardCount: shard.count, costs: costs).tiles(of: shard))
  }

  /// The shard plan of `plan` in `shardCount` shards.
  public static func shardPlan(plan: TilePlan, shardCount: Int, costs: TileCostModel) throws -> ShardPlan {
    try ShardPlan(tileCosts: plan.tiles.map {
      costs.tileFLOP(rowSamples: $0.rows.count, columnSamples: $0.columns.count, isDiagonal: $0.isDiagonal)
    }, shardCount: shardCount)
  }

  /// The training set: the first `train.samples` samples of the training split (all when absent),
  /// independent of `dataset.subsample` and `dataset.split`, which choose the eNTK's samples (with
  /// `"split": "test"`, the network trains on the training split and its eNTK is taken over test
  /// samples). `check` reads it too.
  ///
  /// - Throws: as `DatasetLoader.load`, naming `model.train.samples` when it exceeds the split;
  ///   `BadInput` for a dataset without labels.
  public static func trainingData<T: BLASScalar>(manifest: Manifest, _ train: Manifest.Training, scalar: T.Type) throws -> DatasetLoader.Loaded<T> {
    var training = manifest
    training.dataset.subsample = train.samples
    training.dataset.split = nil  // training always reads the training split
    let loaded: DatasetLoader.Loaded<T>
    do {
      loaded = try DatasetLoader.load(training, scalar: T.self, showProgress: false)
    } catch let error as DatasetError where error.message.contains("dataset.subsample") {
      throw DatasetError(error.code, error.message.replacingOccurrences(of: "dataset.subsample", with: "model.train.samples"))
    } catch let error as DatasetError where error.code == .sampleRange {
      throw DatasetError(.sampleRange, "model.train.samples: \(error.message)")
    }
    guard loaded.labels != nil else {
      throw BadInput("model.train: dataset \(manifest.dataset.name) has no labels to train on")
    }
    return loaded
  }

  /// The tile size and strategy within `ntk.memoryBudget` (see `TileMemoryPlan`). With
  /// `tileSamples: "auto"` and a run directory that already records a tile size, that size is
  /// reused, so that a resumed run keeps its tiles even if the budget or the machine changed.
  /// Throws `EngineError.memoryBudget` (exit 2) before any work if the tile cannot fit.
  private func memoryPlan<T: BLASScalar>(model: Model<T>, sampleCount: Int, columnSampleCount: Int?) throws -> TileMemoryPlan {
    var tileSamples = manifest.ntk.tileSamples
    let recordedTileSamples = FileManager.default.fileExists(atPath: run.path) ? (try? run.journal.replay().identity?.tileSamples) ?? nil : nil
    if tileSamples == nil, let recordedTileSamples { tileSamples = recordedTileSamples }
    let (plan, budget) = try Self.memoryPlan(manifest: manifest, model: model, sampleCount: sampleCount,
                                             columnSampleCount: columnSampleCount, tileSamples: tileSamples,
                                             recorded: manifest.ntk.tileSamples == nil && recordedTileSamples != nil,
                                             existingRun: recordedTileSamples == tileSamples && tileSamples != nil)
    if reporter.detail != .quiet {
      log("memory: budget \(MemorySizeText.mebibytesRoundedUp(budget)) MiB; \(Plural.count(plan.tileSamples, "sample")) per tile side, \(plan.strategy.rawValue), estimated peak \(MemorySizeText.mebibytesRoundedUp(plan.workingBytes)) MiB without cache, \(max(0, plan.cacheBytes) >> 20) MiB for cached column blocks")
    }
    if reporter.detail == .detailed { log(plan.contraction.summary) }
    return plan
  }

  /// A run whose journal records no eNTK yet (new, or interrupted in training) and whose tiles
  /// cannot fit the budget is refused before training, not after it: the memory plan depends
  /// only on the model's shapes and n, which training does not change, so hours of training
  /// would end in the same refusal. A run directory whose journal records the eNTK keeps
  /// `execute`'s order (its identity, which holds the trained weights' hash, comes first; a
  /// finished run is spared: `planWithoutBudget`); so does one whose journal cannot be read
  /// (`RunSession.open` names the damage). `execute` plans again after training, with the
  /// process's resident size then.
  ///
  /// - Throws: `EngineError.memoryBudget` (exit 2), as `memoryPlan` does.
  private func refuseOverBudgetBeforeTraining<T: BLASScalar>(model: Model<T>, sampleCount: Int, columnSampleCount: Int?) throws {
    if SystemFile.kind(of: run.journalDirectory).exists {
      guard let replay = try? run.journal.replay(), replay.identity == nil else { return }
    }
    _ = try Self.memoryPlan(manifest: manifest, model: model, sampleCount: sampleCount, columnSampleCount: columnSampleCount,
                            tileSamples: manifest.ntk.tileSamples)
  }

  /// What a run directory with a recorded identity gets when its tiles do not fit the budget
  /// (`refusal`): another computation's directory is refused as such (the identity check comes
  /// first: a budget is no reason to name), and a run whose tiles are all journaled computes
  /// nothing, so its plan (of the recorded tile size) is not bounded by the budget — only the
  /// per-sample files are checked. Otherwise `refusal` is thrown.
  ///
  /// - Throws: `CheckpointError.identityMismatch`, or `refusal` (`EngineError.memoryBudget`).
  private func planWithoutBudget<T: BLASScalar>(_ refusal: EngineError, model: Model<T>, dataset: DatasetLoader.Loaded<T>,
                                                 columns: DatasetLoader.Loaded<T>?) throws -> TileMemoryPlan {
    guard SystemFile.kind(of: run.journalDirectory).exists, let replay = try? run.journal.replay(),
          let recorded = replay.identity else { throw refusal }
    let tileSamples = manifest.ntk.tileSamples ?? recorded.tileSamples
    let identity = Self.identity(manifest: manifest, model: model, dataset: dataset, columns: columns, tileSamples: tileSamples)
    try RunSession.refuseForeign(run: run, identity: identity, manifestJSON: manifest.prettyJSON())
    guard let tiles = try? identity.plan().tiles, tiles.indices.allSatisfy({ replay.tiles[$0] != nil }) else { throw refusal }
    if reporter.detail != .quiet {
      log("memory: every tile is journaled, nothing to compute: ntk.memoryBudget is not applied (tiles of \(Plural.count(tileSamples, "sample")) a side would not fit it)")
    }
    return try TileMemoryPlan.make(model: model, sampleCount: dataset.inputs.batchSize, budgetBytes: Int.max / 4, baseBytes: 0,
                                   tileSamples: tileSamples, columnSampleCount: columns?.inputs.batchSize,
                                   variant: manifest.ntk.kernel.engineVariant, recorded: manifest.ntk.tileSamples == nil)
  }

  /// The `ntk.memoryBudget` RUN/manifest.json records, or `default` when it is missing or cannot
  /// be read. A session whose budget was not applied (every tile journaled: `planWithoutBudget`)
  /// keeps it, so that a budget too small for the run's tiles does not replace the one a later
  /// `run RUN/manifest.json` with tiles to compute would use (tester-s13 #1).
  private func storedMemoryBudget(default fallback: Int?) -> Int? {
    guard let bytes = try? FileBytes.read(path: run.manifestPath),
          let stored = try? Manifest.parse(bytes, file: run.manifestPath, knownModels: nil, knownDatasets: nil)
    else { return fallback }
    return stored.ntk.memoryBudget
  }

  /// The memory plan of `manifest` as `run` makes it and `check` prints it — one computation for
  /// both, so they agree: the budget (`ntk.memoryBudget`, or "auto": `ProcessMemory.automaticBudget()`
  /// now), the base (this process's resident size now plus `fixedOverheadBytes`) and
  /// `TileMemoryPlan.make` for `tileSamples` (`nil`: the largest that fits; `recorded`: the
  /// tile size a run directory records for "auto"; `existingRun`: a run directory records tiles
  /// of this size).
  ///
  /// - Returns: the plan and the budget in bytes.
  /// - Throws: `EngineError.memoryBudget` (exit 2) when the tile cannot fit, naming what it needs.
  public static func memoryPlan<T: BLASScalar>(manifest: Manifest, model: Model<T>, sampleCount: Int, columnSampleCount: Int?,
                                               tileSamples: Int?, recorded: Bool = false, existingRun: Bool = false) throws -> (plan: TileMemoryPlan, budget: Int) {
    let budget = manifest.ntk.memoryBudget ?? ProcessMemory.automaticBudget()
    let base = (ProcessMemory.residentBytes() ?? 0) + fixedOverheadBytes
    let plan = try TileMemoryPlan.make(model: model, sampleCount: sampleCount, budgetBytes: budget, baseBytes: base,
                                       tileSamples: tileSamples, columnSampleCount: columnSampleCount, variant: manifest.ntk.kernel.engineVariant,
                                       recorded: recorded, existingRun: existingRun)
    return (plan, budget)
  }

  /// With `--progress lines`: the work split and the peak resident size (VmHWM) of this process.
  private func reportMemory<T: BLASScalar>(plan: TileMemoryPlan, computer: EngineTileComputer<T>) {
    guard reporter.detail == .detailed else { return }
    let stats = computer.source.statistics
    let peak = ProcessMemory.peakResidentBytes() ?? 0
    log("peak resident memory: \(Plural.count(peak, "byte")) (VmHWM); Jacobian blocks computed: \(stats.blocksComputed) (\(Plural.count(stats.samplesComputed, "sample")), \(String(format: "%.2f", stats.jacobianSeconds)) s), cache hits: \(stats.cacheHits), contraction \(String(format: "%.2f", stats.contractionSeconds)) s")
  }

  /// The model's logits `[rows, m]` float64 at `path` — `RUN/logits.npy` of the rows, or with
  /// `columns` a cross run's `RUN/columns-logits.npy`. Kept as is when intact (`LogitsFile`) and
  /// matching a checksum of `recorded` (`RUN/checksums.json`); else computed (the forward pass),
  /// compared, and written atomically when the file's bytes differ.
  ///
  /// - Returns: the SHA-256 to record for the file: the recorded one when kept, else that of the
  ///   computed bytes (never of bytes this session did not compute).
  private func writeLogits<T: BLASScalar>(_ computer: EngineTileComputer<T>, columns: Bool, to path: String, rows: Int,
                                          batchSamples: Int, recorded: [String: String]) throws -> ContentHash {
    let m = computer.source.model.outputsPerSample
    let name = (path as NSString).lastPathComponent
    if SystemFile.kind(of: path).exists, let expected = recorded[name],
       LogitsFile.problem(at: path, rows: rows, outputsPerSample: m) == nil,
       let hash = ContentHash(hex: expected) {
      return hash  // intact and equal to the checksum recorded when a session computed it
    }
    let logits = try computer.logits(batchSamples: batchSamples, columns: columns).map { Double($0) }
    let bytes = NpyArray(shape: [rows, m], values: logits).encoded()
    if (try? FileBytes.read(path: path)) != bytes { try AtomicFile.write(bytes, to: path) }
    return ContentHash.sha256(bytes)
  }

  /// The samples' labels `[n]` int64 at `path` — `RUN/labels.npy`, or a cross run's
  /// `RUN/columns-labels.npy` — written atomically unless the file holds exactly these labels
  /// (`LabelsFile.holds`: so also when missing, damaged, stale or wrong). Replacing an existing
  /// file is said on stderr (`LabelsFile.rewriteNotice`), even with `--progress none`: results
  /// computed from the labels change.
  ///
  /// - Returns: the SHA-256 of the labels' bytes (computed from the dataset), to record.
  private func writeLabels(_ labels: [Int], to path: String) throws -> ContentHash {
    let bytes = LabelsFile.encoded(labels)
    if !LabelsFile.holds(labels, at: path) {
      let notice = LabelsFile.rewriteNotice(labels, at: path)
      try AtomicFile.write(bytes, to: path)
      if let notice { StandardStream.error(notice + "\n") }
    }
    return ContentHash.sha256(bytes)
  }

  private func computeTiles<T: BLASScalar>(
    session: RunSession, plan: TilePlan, share: [Int]?, computer: EngineTileComputer<T>, parameters: Int
  ) throws -> Outcome {
    reporter.tilesStarted()
    var computedThisSession = 0
    let shareSet = share.map(Set.init)
    // This process's tiles that are journaled: a shard's session knows the other shards' records
    // only as of its last journal refresh, so a shard counts its own share.
    func journaledOfShare() -> Int {
      shareSet.map { set in session.journaled.keys.filter { set.contains($0) }.count } ?? session.journaled.count
    }
    let what = shard.map { "shard \($0) (\(Plural.count(share?.count ?? 0, "tile")))" } ?? "the run"
    announce(plan: plan, share: share, parameters: parameters, alreadyDone: journaledOfShare())
    let outcome: TileRunner.Outcome
    do {
      outcome = try TileRunner(session: session, plan: plan, share: share, compressionWorkers: BLASCore.threadCount).run(
      compute: { tile in
        let values = try computer.values(tile)
        computedThisSession += 1
        return TileValues(values)
      },
      progress: { state in
        guard let tile = state.lastTile else { return }
        reporter.tileFinished(index: tile.index, row: tile.rowBlock, column: tile.columnBlock,
                             seconds: session.journaled[tile.index]?.computeSeconds ?? 0, state: state)
      },
      shouldStop: { stop.isStopRequested || (maxTiles.map { computedThisSession >= $0 } ?? false) },
      abandonStoring: { stop.isStopRequested },
      refreshSeconds: shard == nil ? nil : Self.journalRefreshSeconds,
      commit: { try stop.committing($0) })
    } catch let error as EngineError where error.code == .cancelled {
      reporter.tilesFinished()
      log("stop requested: abandoned the tile in progress (not journaled); \(journaledOfShare()) of \(Plural.count(share?.count ?? plan.tiles.count, "tile")) of \(what) are journaled; run the same command to continue")
      return .stoppedBySignal
    }
    reporter.tilesFinished()
    switch outcome {
    case .completed:
      let complete = session.journaled.count == plan.tiles.count
      log("all tiles of \(what) in \(run.path) are journaled\(complete ? "" : "; \(plan.tiles.count - session.journaled.count) of the run's \(Plural.count(plan.tiles.count, "tile")) belong to other shards and are not journaled yet"); next: ntkbatch \(complete ? "verify" : "status") \(run.path)")
      return .complete
    case .stopped(let state):
      if !stop.isStopRequested, let maxTiles {
        // Stopped by --max-tiles, not by a signal: say so, and what a rerun does.
        let left = state.tilesTotal - state.tilesDone
        log("stopped at the --max-tiles limit (\(Plural.count(maxTiles, "tile")) computed in this session): \(state.tilesDone) of \(Plural.count(state.tilesTotal, "tile")) of \(what) journaled, \(left) left; running again resumes here (the same command computes up to \(maxTiles) more; without --max-tiles, all that are left)")
      } else {
        log("stopped with \(state.tilesDone) of \(Plural.count(state.tilesTotal, "tile")) of \(what) journaled; run the same command to continue")
      }
      return stop.isStopRequested ? .stoppedBySignal : .paused
    }
  }

  /// How often a shard re-reads the journal to skip tiles other shards journaled meanwhile.
  public static let journalRefreshSeconds = 300.0

  private func announce(plan: TilePlan, share: [Int]?, parameters: Int, alreadyDone: Int) {
    guard reporter.detail != .quiet else { return }
    let resumed = alreadyDone > 0 ? ", resuming with \(alreadyDone) already journaled" : ""
    let sharded = shard.map { shard in
      let range = share.map { $0.isEmpty ? "no tiles" : "tiles \($0.first!)…\($0.last!)" } ?? ""
      return "; shard \(shard): \(Plural.count(share?.count ?? 0, "tile")) (\(range))"
    } ?? ""
    let what = plan.isCross ? "\(plan.sampleCount) × \(Plural.count(plan.columnSampleCount, "sample")) (cross kernel)" : "\(Plural.count(plan.sampleCount, "sample"))"
    let matrix = ShapeSize.description(plan.assembledShape) + (plan.kernel == .diagonal ? " diagonal-block" : plan.kernel == .full ? " " : " \(plan.kernel.rawValue) ")
    log("\(manifest.model.name) (P = \(parameters)) on \(what): \(matrix)eNTK in \(Plural.count(plan.tiles.count, "tile")) of up to \(Plural.count(plan.tileSamples, "sample")) a side\(sharded)\(resumed); run directory \(run.path)")
  }

  private func log(_ line: String) {
    guard reporter.detail != .quiet else { return }
    StandardStream.error(line + "\n")
  }
}
