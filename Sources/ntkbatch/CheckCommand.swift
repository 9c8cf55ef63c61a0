import ArgumentParser
import Checkpoint
import Datasets
import Engine
import Foundation
import Pipeline
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

      Also prints the plan's cost: total FLOP (contraction plus the Jacobian blocks as the run \
      computes them: each once when the memory plan caches them all, else as often as the cache \
      makes it, up to one per tile; see TileCostModel and BlockCachePolicy), hours on this machine at the speed of a short measured \
      GEMM (with the current OPENBLAS_NUM_THREADS; computing only: where a tile computes in under \
      0.1 s, a note says that storing it, left out, takes as long or longer), and the disk needed for the objects and for \
      the assembled file in each dtype; with --shards N, the split into N shards: tiles per \
      shard, cost balance (max/mean) and the hours of the largest shard here.
      """)

  @Argument(help: "The manifest (JSON; see the README).")
  var manifest: String

  // `.unconditional`: `--shards -3` is read as the value -3 (and refused by `validate`), not as an option.
  @Option(parsing: .unconditional, help: "Also print how N shards (run --shard K/N) split the plan.")
  var shards: Int?

  func validate() throws {
    if let shards, shards < 1 || shards > ShardSpec.maximumCount {
      throw ValidationError("--shards must be from 1 to \(ShardSpec.maximumCount), got \(shards)")
    }
  }

  func run() throws {
    try CLIError.reporting(manifest: self.manifest) {
      let manifest = try ManifestInput.load(path: self.manifest)
      var offline = manifest
      offline.dataset.download = nil
      do {
        try manifest.ntk.precision.dispatch(Description(command: self, manifest: offline))
      } catch let error as DatasetError where manifest.dataset.download == true && error.message.hasSuffix(DatasetKind.downloadSuggestion) {
        // dataset.download is set already: say what `run` will do instead of suggesting it.
        throw DatasetError(error.code, error.message.dropLast(DatasetKind.downloadSuggestion.count)
          + "; not downloaded yet: `ntkbatch run` downloads them first (dataset.download: true), `check` never downloads, so it reads the dataset once they are there")
      }
    }
  }

  /// `describe` in the manifest's precision.
  private struct Description: PrecisionGeneric {
    let command: CheckCommand
    let manifest: Manifest
    func execute<T: BLASScalar>(_: T.Type) throws { try command.describe(manifest, T.self) }
  }

  private func describe<T: BLASScalar>(_ manifest: Manifest, _: T.Type) throws {
    // As `run` does before loading: freed buffers (the whole split a subsample is taken from) go
    // back to the kernel, so the resident size measured below — the memory plan's base, which
    // decides tileSamples "auto" — is the one `run` measures.
    ReturnFreedMemory.configure()
    try WeightsLoader.refuseOverBudget(manifest, scalar: T.self, planning: true)  // before loading anything
    let dataset = try DatasetLoader.load(manifest, scalar: T.self, showProgress: false)
    let columns = try DatasetLoader.loadColumns(manifest, scalar: T.self, showProgress: false)
    let model = try WeightsLoader.model(for: manifest, scalar: T.self)
    var trainedOn: Int?
    if let train = manifest.model.train {  // the training split, as `run` reads it
      trainedOn = try RunPipeline.trainingData(manifest: manifest, train, scalar: T.self).inputs.batchSize
    }
    // As `run` plans it (a run directory's recorded tile size, which `run` reuses for "auto", is not consulted here).
    let budget: Int
    let memory: TileMemoryPlan
    do {
      (memory, budget) = try RunPipeline.memoryPlan(manifest: manifest, model: model, sampleCount: dataset.inputs.batchSize,
                                                    columnSampleCount: columns?.inputs.batchSize, tileSamples: manifest.ntk.tileSamples)
    } catch let error as EngineError {
      throw CLIError.BadInput("\(self.manifest): \(error.message)")  // as `run` would stop, exit 2
    }
    let memoryLine = "budget \(MemorySizeText.mebibytesRoundedUp(budget)) MiB, \(memory.strategy.rawValue), estimated peak \(MemorySizeText.mebibytesRoundedUp(memory.workingBytes)) MiB without cache"
    let plan = try TilePlan(sampleCount: dataset.inputs.batchSize, columnSampleCount: columns?.inputs.batchSize,
                            tileSamples: memory.tileSamples, precision: manifest.ntk.precision, kernel: manifest.ntk.kernel)
    let values = plan.assembledValueCount
    let element = manifest.ntk.precision.byteSize
    print("manifest: \(self.manifest) (\(manifest.name)) is valid")
    print("model:    \(manifest.model.name)\(ModelZoo.hasWidth(manifest.model.name) ? ", width \(manifest.model.width)" : ""), P = \(model.parameterCount) parameters, weights \(manifest.resolvedWeightsPath ?? "init (seed \(manifest.model.seed))")\(manifest.model.train.map { ", trained first: \(Plural.count($0.epochs, "epoch")) on \(Plural.count(trainedOn ?? 0, "sample"))" } ?? "")")
    print("dataset:  \(manifest.dataset.name)\(manifest.dataset.split.map { " (\($0) split)" } ?? ""), n = \(Plural.count(plan.sampleCount, "sample"))")
    if let columnsDataset = manifest.columns {
      print("columns:  \(columnsDataset.name)\(columnsDataset.split.map { " (\($0) split)" } ?? ""), n = \(Plural.count(plan.columnSampleCount, "sample")) (cross kernel K(dataset, columns), every tile)")
    }
    print("plan:     \(plan.isCross ? "\(plan.blockCount) × \(Plural.count(plan.columnBlockCount, "block"))" : Plural.count(plan.blockCount, "block")) of up to \(Plural.count(plan.tileSamples, "sample")), \(Plural.count(plan.tiles.count, "tile")), \(plan.rawByteCount) raw bytes (\(manifest.ntk.precision.rawValue))")
    print("memory:   \(memoryLine)")
    let shape = ShapeSize.description(plan.assembledShape) + (plan.kernel == .full ? "" : " (kernel \(plan.kernel.rawValue))")
    print("matrix:   \(shape), \(Plural.count(values * element, "byte")) as \(manifest.ntk.precision.rawValue), normalization \(manifest.ntk.normalization.rawValue)")
    let rowsPerSample = manifest.ntk.kernel.engineVariant.jacobianOutputs(outputs: model.outputsPerSample)
    func blockBytes(_ samples: Int) -> Int {
      MemoryLayout<T>.stride * (memory.strategy == .wholeBlocks
        ? model.jacobianScalarCount(samples: samples, choice: memory.contraction, outputs: rowsPerSample)
        : model.jacobianFactorScalarCount(samples: samples, outputs: rowsPerSample))
    }
    let cachedBlocks = min(plan.columnBlockCount, max(0, memory.cacheBytes) / max(1, blockBytes(min(plan.tileSamples, plan.sampleCount))))
    // The blocks the run computes, tile by tile in plan order, as its cache keeps them.
    let computed = BlockCachePolicy.computations(of: plan.tiles.map { ($0.rows, $0.columns) }, isCross: plan.isCross,
                                                 cacheBytes: memory.cacheBytes, bytes: blockBytes)
    printCost(plan: plan, costs: TileCostModel(model: model, choice: memory.contraction, variant: manifest.ntk.kernel.engineVariant),
              rate: GEMMRate.measure(T.self), computed: computed, cachedBlocks: cachedBlocks)
  }

  /// The cost, disk and shard lines (see the command's discussion).
  ///
  /// - Parameters:
  ///   - computed: the Jacobian blocks the run computes (`BlockCachePolicy.computations`): each
  ///     once when the cache holds them all, up to one per tile when it holds none.
  ///   - cachedBlocks: how many full blocks the cache holds at a time.
  private func printCost(plan: TilePlan, costs: TileCostModel, rate: Double, computed: [Range<Int>], cachedBlocks: Int) {
    var contraction = 0.0, uncached = 0.0
    for tile in plan.tiles {
      contraction += costs.contractionFLOP(rowSamples: tile.rows.count, columnSamples: tile.columns.count, isDiagonal: tile.isDiagonal)
      uncached += costs.jacobianFLOP(samples: tile.columns.count)
    }
    // A cross run computes each row block once for its row, besides the column blocks.
    if plan.isCross { uncached += costs.jacobianFLOP(samples: plan.sampleCount) }
    let jacobians = computed.reduce(0.0) { $0 + costs.jacobianFLOP(samples: $1.count) }
    let total = contraction + jacobians
    let blocks = plan.blockCount + (plan.isCross ? plan.columnBlockCount : 0)
    let held = "the cache holds \(computed.count == blocks ? "all" : "\(cachedBlocks) of") \(Plural.count(plan.columnBlockCount, plan.isCross ? "column block" : "block"))"
    let how = computed.count == blocks ? (plan.columnBlockCount == 1 ? "each block once" : "each block once: \(held)") : "\(Plural.count(computed.count, "block computation")) for \(Plural.count(blocks, "block")): \(held)"
    let threads = ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "OpenBLAS default"
    print("cost:     \(Self.scientific(total)) FLOP (contraction \(Self.scientific(contraction)), Jacobians \(Self.scientific(jacobians)), \(how)); this machine: \(String(format: "%.1f", rate / 1e9)) GFLOP/s (GEMM 1024³, threads: \(threads)) → \(Self.estimate(total / rate))")
    // What the estimate leaves out: storing each tile. Where computing a tile is short, that dominates
    // (LeNet, 400 digits: 820 tiles of 10 samples took 3.5 s against an estimate of 0.9 s; 3 tiles
    // of 200, 1.1 s against 0.5 s).
    let perTile = total / rate / Double(max(1, plan.tiles.count))
    if perTile < Self.shortTileSeconds {
      print("note:     \(Plural.count(plan.tiles.count, "tile")) of \(Self.milliseconds(perTile)) of computing each: storing a tile (zstd, writing, three fsyncs: milliseconds on a local disk, more on a network file system) is not in this estimate and takes as long or longer with tiles this small; a larger ntk.tileSamples (or \"auto\") makes fewer tiles. Once tiles are journaled, `ntkbatch status` gives the measured ETA")
    }
    let assembled = [("float16", 2), ("float32", 4), ("float64", 8)].map { "\($0.0) \(Self.bytes(plan.assembledValueCount * $0.1 + 128))" }
    print("disk:     objects up to \(Self.bytes(plan.rawByteCount)) (raw \(plan.isCross ? "tiles" : plan.kernel == .diagonal ? "diagonal blocks" : "upper triangle"); zstd saves little on float tiles); assembled \(assembled.joined(separator: ", "))")
    guard let shards, let split = try? RunPipeline.shardPlan(plan: plan, shardCount: shards, costs: costs) else { return }
    let counts = split.ranges.map(\.count)
    // Shards are balanced on the uncached model; scale to the Jacobian cost that applies.
    let largest = (split.costs.max() ?? 0) * total / max(1, contraction + uncached)
    print("shards:   \(shards): \(counts.min() ?? 0)–\(Plural.count(counts.max() ?? 0, "tile")) each, cost balance max/mean \(String(format: "%.3f", split.balance)); largest shard \(Self.scientific(largest)) FLOP ≈ \(Self.duration(largest / rate)) here")
    let empty = counts.filter { $0 == 0 }.count
    if empty > 0 {
      print("warning:  \(empty) of \(Plural.count(shards, "shard")) hold no tile (the plan has \(Plural.count(plan.tiles.count, "tile"))): use at most \(Plural.count(plan.tiles.count, "shard"))")
    }
  }

  static func scientific(_ value: Double) -> String { String(format: "%.3g", value) }

  /// Tiles estimated to compute faster than this get `check`'s note on storing time.
  static let shortTileSeconds = 0.1

  /// A tile's computing time for that note: "under 1 ms" or "about N ms".
  static func milliseconds(_ seconds: Double) -> String {
    seconds < 0.001 ? "under 1 ms" : String(format: "about %.0f ms", seconds * 1000)
  }

  /// `about 1.6 hours`, `about 59 seconds`, or `under 0.1 seconds` (not `about 0.0 seconds`).
  static func estimate(_ seconds: Double) -> String { seconds < 0.05 ? duration(seconds) : "about " + duration(seconds) }

  /// `seconds` in the largest unit that keeps it ≥ 1: "1.5 hours", "12 minutes", "40 seconds";
  /// "under 0.1 seconds" below 0.05 s.
  static func duration(_ seconds: Double) -> String {
    if seconds < 0.05 { return "under 0.1 seconds" }
    let hours = seconds / 3600
    if hours >= 1 { return (hours >= 100 ? String(format: "%.0f", hours) : String(format: "%.1f", hours)) + " hours" }
    if seconds >= 60 { return String(format: "%.0f", seconds / 60) + " minutes" }
    return String(format: seconds >= 10 ? "%.0f" : "%.1f", seconds) + " seconds"
  }

  static func bytes(_ count: Int) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var value = Double(count), unit = 0
    while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(Plural.count(count, "byte"))" : String(format: "%.1f", value) + " " + units[unit]
  }
}
