import ArgumentParser
import Checkpoint
import Datasets
import Engine
import Foundation
import Pipeline
import Storage

/// `ntkbatch generate`: the original tool's command line in one step — one manifest per model and
/// repeat (train, then eNTK of the trained weights), written into a folder and run in turn.
struct GenerateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "generate",
    abstract: "Write one training + eNTK manifest per model and repeat into a folder, then run them in turn.",
    discussion: """
      For each model and repeat r (0-based), writes OUTPUT/<model>-<dataset>-r<r>.json with \
      model.seed = r and model.train.seed = r (independently trained copies), and runs it with the \
      run directory OUTPUT/runs/<same name>. Running the same command again continues where it \
      stopped: finished runs are skipped quickly, a half-trained model resumes at its last epoch, \
      a half-computed eNTK at its last tile. Afterwards: ntkbatch assemble / export-weights on each \
      run directory. An existing manifest that differs from the one these options give (say \
      --num-epochs 3 after 2) is refused, naming its first differing field, before anything is \
      written; --overwrite replaces it, unless its run directory already holds the earlier \
      manifest's run (remove that first).
      """
  )

  @Option(name: .customLong("models"), parsing: .upToNextOption, help: "Model names (see `ntkbatch models`).")
  var models: [String]

  @Option(help: "Dataset: \(DatasetKind.namesInProse).")
  var dataset: String

  @Option(help: "Folder of the dataset's files (default: data/<dataset>).")
  var root: String?

  @Option(parsing: .unconditional, help: "Base learning rate.")
  var lr: Double = Manifest.Training().lr

  @Option(parsing: .unconditional, help: "Mini-batch size.")
  var bs: Int = Manifest.Training().batchSize

  @Option(parsing: .unconditional, help: "Width of the ResNets (the other models have none: their manifests get the default 64, which changes nothing).")
  var width: Int = Manifest.defaultWidth

  @Option(name: .customLong("num-epochs"), parsing: .unconditional, help: "Most training epochs (cosine period).")
  var numEpochs: Int = Manifest.Training().epochs

  @Option(name: .customLong("target-accuracy"), parsing: .unconditional, help: "Stop training once an epoch's training accuracy exceeds this.")
  var targetAccuracy: Double = Manifest.Training().targetAccuracy

  @Option(parsing: .unconditional, help: "Independently trained copies per model (seeds 0, 1, …).")
  var repeats: Int = 1

  @Option(parsing: .unconditional, help: "Compute the eNTK of only the first N training samples (training uses the whole split).")
  var subsample: Int?

  @Option(name: .customLong("train-samples"), parsing: .unconditional, help: "Train on only the first N training samples (default: all).")
  var trainSamples: Int?

  @Option(help: "eNTK precision: float32 or float64.")
  var precision: String = Manifest.NTK().precision.rawValue

  @Option(help: "eNTK normalization: none or sqrt-params.")
  var normalization: String = Manifest.NTK().normalization.rawValue

  @Option(name: .customLong("tile-samples"), parsing: .unconditional, help: "Samples per tile side.")
  var tileSamples: Int = Manifest.defaultTileSamples

  @Flag(help: "Download missing dataset files first.")
  var download = false

  @Option(help: "Folder for the manifests and runs.")
  var output: String

  @Flag(help: "Replace existing manifests that differ (their run directories must not exist yet).")
  var overwrite = false

  @Option(help: "Progress display (as for run).")
  var progress: ProgressMode = .auto

  /// Every option value checked here, before any manifest is written (usage errors, exit 64),
  /// with the limits the manifest validator applies to the fields they become.
  func validate() throws {
    guard !models.isEmpty, models.allSatisfy({ !$0.isEmpty }) else { throw ValidationError("--models needs at least one model name, found \(models)") }
    if let unknown = models.first(where: { !ModelZoo.names.contains($0) }) {
      throw ValidationError("--models: unknown model \(unknown) (expected one of \(ModelZoo.names.joined(separator: ", ")))")
    }
    guard DatasetKind(rawValue: dataset) != nil else {
      throw ValidationError("--dataset: expected \(DatasetKind.namesInProse), got \(dataset)")
    }
    guard !output.isEmpty else { throw ValidationError("--output: expected a folder, found an empty path") }
    guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
    guard (1...Manifest.maximumWidth).contains(width) else { throw ValidationError("--width must be between 1 and \(Manifest.maximumWidth), got \(width)") }
    guard lr.isFinite, lr > 0 else { throw ValidationError("--lr: expected a positive finite number, got \(lr)") }
    guard (1...Manifest.Training.maximumBatchSize).contains(bs) else {
      throw ValidationError("--bs: expected an integer from 1 to \(Manifest.Training.maximumBatchSize), got \(bs)")
    }
    guard (1...Manifest.Training.maximumEpochs).contains(numEpochs) else {
      throw ValidationError("--num-epochs: expected an integer from 1 to \(Manifest.Training.maximumEpochs), got \(numEpochs)")
    }
    guard targetAccuracy.isFinite, (0...1).contains(targetAccuracy) else {
      throw ValidationError("--target-accuracy: expected a number from 0 to 1, got \(targetAccuracy)")
    }
    guard (1...Manifest.maximumTileSamples).contains(tileSamples) else {
      throw ValidationError("--tile-samples: expected an integer from 1 to \(Manifest.maximumTileSamples), got \(tileSamples)")
    }
    for (option, value) in [("--subsample", subsample), ("--train-samples", trainSamples)] {
      if let value, value < 1 { throw ValidationError("\(option): expected a positive number of samples, got \(value)") }
    }
    guard TilePrecision(rawValue: precision) != nil else { throw ValidationError("--precision: expected float32 or float64, got \(precision)") }
    guard KernelNormalization(rawValue: normalization) != nil else {
      throw ValidationError("--normalization: expected \(KernelNormalization.allCases.map(\.rawValue).joined(separator: " or ")), got \(normalization)")
    }
  }

  func run() throws {
    let outcome = try CLIError.reporting { () -> RunPipeline.Outcome in
      let outputExisted = SystemFile.kind(of: output).exists
      let (paths, earlier) = try writeManifests()
      // A manifest whose run fails before its run directory holds anything (the data check: say
      // --subsample over the file's samples) is taken back — removed, or its earlier content put
      // back —, so the corrected command is not refused by it.
      var failed = true
      defer { if failed { takeBack(earlier, removingOutput: !outputExisted) } }
      let signals = SignalWatch()
      for (index, path) in paths.enumerated() {
        let manifest = try ManifestInput.load(path: path)
        if progress != .none {
          StandardStream.error("generate: [\(index + 1)/\(paths.count)] \(path)\n")
        }
        let pipeline = RunPipeline(
          manifest: manifest, run: RunDirectory(path: output + "/runs/" + manifest.name), reporter: ProgressReporter(mode: progress), maxTiles: nil, stop: signals)
        let outcome = try pipeline.execute()
        if outcome != .complete { failed = false; return outcome }
      }
      failed = false
      return .complete
    }
    if outcome == .stoppedBySignal { throw ExitCode(CLIError.stoppedBySignal) }
  }

  /// Undoes what `writeManifests` wrote for each manifest whose run directory is absent or
  /// empty (its run never started): a new manifest is removed, a replaced one gets its earlier
  /// bytes back; then `--output/runs` if left empty, and `--output` too if this generate made it.
  private func takeBack(_ earlier: [String: [UInt8]?], removingOutput: Bool) {
    let manager = FileManager.default
    for (path, bytes) in earlier {
      let run = output + "/runs/" + String(AtomicFile.name(of: path).dropLast(".json".count))
      guard ((try? manager.contentsOfDirectory(atPath: run)) ?? []).isEmpty else { continue }
      try? manager.removeItem(atPath: run)
      if let bytes { try? AtomicFile.write(bytes, to: path) } else { try? manager.removeItem(atPath: path) }
    }
    for folder in [output + "/runs"] + (removingOutput ? [output] : []) where ((try? manager.contentsOfDirectory(atPath: folder)) ?? ["?"]).isEmpty {
      try? manager.removeItem(atPath: folder)
    }
  }

  /// Writes (or keeps, when unchanged) one manifest per model and repeat; returns their paths and,
  /// for each file it wrote, its earlier bytes (`nil`: it did not exist).
  /// Every manifest is built and checked before any file is written: an existing one that
  /// differs is refused (`BadInput`, naming the file and the first differing field) unless
  /// `--overwrite`, and then still when its run directory exists and is not empty.
  func writeManifests() throws -> (paths: [String], earlier: [String: [UInt8]?]) {
    let rootPath = NormalisedPath.absolute(root ?? "data/\(dataset)", in: FileManager.default.currentDirectoryPath)
    var planned: [(path: String, bytes: [UInt8])] = []
    for model in models {
      for r in 0..<repeats {
        let name = "\(model)-\(dataset)-r\(r)"
        let object: [String: Any] = [
          "name": name,
          "dataset": ["name": dataset, "root": rootPath, "download": download].merging(
            subsample.map { ["subsample": $0] } ?? [:]) { a, _ in a },
          "model": [
            "name": model, "width": ModelZoo.hasWidth(model) ? width : Manifest.defaultWidth, "seed": r,
            "train": (["lr": lr, "batchSize": bs, "epochs": numEpochs, "targetAccuracy": targetAccuracy, "seed": r] as [String: Any])
              .merging(trainSamples.map { ["samples": $0] } ?? [:]) { a, _ in a },
          ],
          "ntk": ["precision": precision, "normalization": normalization, "tileSamples": tileSamples],
        ]
        let bytes = [UInt8](try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) + [0x0A]
        let path = output + "/" + name + ".json"
        _ = try ManifestInput.parse(bytes, file: path)  // refuse bad options before writing
        planned.append((path, bytes))
      }
    }
    var changed: [(path: String, bytes: [UInt8])] = []
    for (path, bytes) in planned where SystemFile.kind(of: path).exists {
      guard let existing = try? FileBytes.read(path: path) else {
        throw BadInput("\(path): exists and cannot be read (expected the manifest an earlier generate wrote); not replaced")
      }
      if existing == bytes { continue }
      // Only where the data are (a new --root) or the name: the same computation, moved; `run`
      // resumes its run directory as a moved run (ManifestDifference.isRelocation).
      if let fields = ManifestDifference.all(recorded: Data(existing), current: Data(bytes), recordedAs: "file has"), !fields.isEmpty,
         ManifestDifference.isRelocation(fields) {
        for field in fields { StandardStream.error("generate: \(path): \(field.path) \(field.detail): rewritten (the same run, moved)\n") }
        changed.append((path, bytes))
        continue
      }
      // Differences outside the manifest hash (dataset.download) change no run: just rewrite.
      let syntax = JSONSyntax.firstProblem(in: existing)
      let isObject = syntax == nil && (try? JSONSerialization.jsonObject(with: Data(existing))) is [String: Any]
      guard let field = isObject ? ManifestDifference.first(recorded: Data(existing), current: Data(bytes), recordedAs: "file has")
                                 : "its content (\(syntax.map { "not valid JSON: \($0)" } ?? "not a JSON object"))" else {
        changed.append((path, bytes))
        continue
      }
      guard overwrite else {
        throw BadInput("\(path): exists and differs from the manifest these options give in \(field); not replaced (--overwrite replaces it)")
      }
      let run = output + "/runs/" + String(AtomicFile.name(of: path).dropLast(".json".count))
      if !((try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []).isEmpty {
        throw BadInput("\(path): differs from the manifest these options give in \(field), and its run directory \(run) holds the earlier manifest's run; remove that run directory (or use another --output) to start again")
      }
      changed.append((path, bytes))
    }
    try SystemFile.createDirectories(path: output)
    var earlier: [String: [UInt8]?] = [:]
    for (path, bytes) in planned where !SystemFile.kind(of: path).exists || changed.contains(where: { $0.path == path }) {
      earlier.updateValue(SystemFile.kind(of: path).exists ? try? FileBytes.read(path: path) : nil, forKey: path)
      try AtomicFile.write(bytes, to: path)
    }
    return (planned.map(\.path), earlier)
  }
}
