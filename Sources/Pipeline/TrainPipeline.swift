import Checkpoint
import Datasets
import Engine
import Foundation
import Storage

/// The training stage of `run` for a manifest with `model.train` (README, "Training first, as the
/// original tool did"): trains the model epoch by epoch, committing a checkpoint after every
/// epoch (`TrainingCheckpointStore`), and resumes from the last committed epoch. The eNTK is then computed of the returned weights.
///
/// Determinism: the trained weights depend only on the manifest (initial weights, data,
/// `model.train`) and on OPENBLAS_NUM_THREADS (BLAS may order its sums per thread count); a run
/// killed at any moment and resumed ends with exactly the weights of an uninterrupted run on the
/// same machine, library build and thread count.
public struct TrainPipeline {
  public var manifest: Manifest
  public var run: RunDirectory
  /// Where training progress goes.
  public var reporter: any RunReporter
  /// The session's stop requests (SIGINT/SIGTERM/SIGHUP): a request stops training after the batch
  /// in progress, abandoning the epoch in progress (not committed; the next session repeats it
  /// from the last committed epoch's checkpoint, to the same weights).
  public var stop: any StopRequests

  public init(manifest: Manifest, run: RunDirectory, reporter: any RunReporter, stop: any StopRequests) {
    self.manifest = manifest
    self.run = run
    self.reporter = reporter
    self.stop = stop
  }

  /// Trains `model` (its initial weights) on `dataset`; `nil` when stopped by SIGINT/SIGTERM/SIGHUP
  /// (after the batch in progress; the epoch in progress is abandoned, the last committed one kept).
  ///
  /// - Throws: `BadInput` for a dataset without labels; `CheckpointError` for a lock held
  ///   by another process, checkpoints of another manifest (`.identityMismatch`), damaged
  ///   checkpoints, I/O failures, or an epoch whose loss is NaN or ±Inf (`.failure`: that epoch is
  ///   not committed, the previous epoch's checkpoint stays the latest).
  public func train<T: BLASScalar>(_ initial: Model<T>, dataset: DatasetLoader.Loaded<T>) throws -> Model<T>? {
    guard manifest.model.train != nil else { return initial }
    return try stop.finishing(Self.stopActivity) { try trainEpochs(initial, dataset: dataset) }
  }

  /// What a stop request during training lets finish (`StopRequests.finishing`): the batch, not
  /// the epoch, which can last far longer than the 10 s a stop promises.
  public static let stopActivity = "the training batch in progress (the epoch in progress is not committed: the next run repeats it from the last committed epoch)"

  /// Thrown from the batch callback to abandon the epoch in progress on a stop request.
  private struct EpochAbandoned: Error {
    var batch: Int
    var batches: Int
  }

  private func trainEpochs<T: BLASScalar>(_ initial: Model<T>, dataset: DatasetLoader.Loaded<T>) throws -> Model<T>? {
    guard let settings = manifest.model.train else { return initial }
    guard let labels = dataset.labels else {
      throw BadInput("model.train: dataset \(manifest.dataset.name) has no labels to train on")
    }
    let configuration = TrainingConfiguration(
      learningRate: settings.lr, batchSize: settings.batchSize, epochs: settings.epochs,
      targetAccuracy: settings.targetAccuracy, seed: UInt64(settings.seed))
    let kind = DatasetKind(rawValue: manifest.dataset.name)
    let trainer = try Trainer(
      configuration: configuration, inputs: dataset.inputs, labels: labels,
      augmentation: kind.map(Augmentation.standard) ?? .none)

    try run.createLayout()
    let lock = try run.lock()
    defer { lock.release() }
    let store = TrainingCheckpointStore(run: run)
    var identity = TrainingRecord(
      epoch: 0, batchesSeen: 0, generatorState: 0, loss: 0, accuracy: 0, finished: false,
      checkpoint: dataset.hash, manifestHash: manifest.canonicalHash, initialWeightsHash: WeightsLoader.hash(initial),
      inputDataHash: Self.dataHash(dataset.hash, labels: labels))

    // A fresh run records its manifest before training, as the eNTK session would: what a later
    // move is compared with. (Never over a run that has training or tiles: a missing
    // RUN/manifest.json there is restored only from the journal's manifest, by `RunSession.open`.)
    if !SystemFile.kind(of: run.manifestPath).exists, !SystemFile.kind(of: store.recordPath).exists,
       let replay = try? run.journal.replay(), replay.identity == nil {
      try run.writeManifest(manifest.prettyJSON())
    }
    var model = initial
    var state = TrainingState<T>(configuration: configuration, parameterCount: model.parameterCount)
    if let (record, bytes) = try store.latest() {
      if let problem = store.recordProblem(record, epochs: settings.epochs, targetAccuracy: settings.targetAccuracy) {
        throw CheckpointError(.damaged, "\(store.recordPath): \(problem); `ntkbatch repair` sets the damaged training state aside")
      }
      var differences = identity.identityDifferences(from: record)
      if differences.isEmpty || differences.contains("manifest hash"), let moved = relocation() {
        // The manifest differs from RUN/manifest.json only in where things are (or the name), or
        // not at all (a run moved earlier keeps the record's manifest hash): the same manifest.
        // With the record's manifest hash, moved means moved back after a move.
        if differences.allSatisfy({ $0 == "manifest hash" }) {
          // Same initial weights and training data too: the same training, moved (as
          // `RunSession.open` rules for the eNTK). Later epochs keep the record's manifest hash.
          if !moved.isEmpty { try run.writeManifest(manifest.prettyJSON()) }
          identity.manifestHash = record.manifestHash
          for field in moved {  // a complete training is not resumed: only the run is
            StandardStream.error("\(record.finished ? "resuming a moved run (same data, weights and settings; its training is complete)" : "resuming a moved run's training (same data, weights and settings)"): \(field)\n")
          }
        }
        differences.removeAll { $0 == "manifest hash" }  // only what the files hold differs: named below
      }
      guard differences.isEmpty else {
        throw CheckpointError(.identityMismatch, Self.foreignTraining(differences, record: record, now: identity, recordPath: store.recordPath))
      }
      state.optimizer.buffer = try TrainingCheckpointFile.decode(bytes, path: store.checkpointPath(record.checkpoint), into: &model)
      state.epochsDone = record.epoch
      state.batchesSeen = record.batchesSeen
      state.generator = SplitMix64(seed: 0)
      state.generator.state = record.generatorState
      state.lastLoss = record.loss
      state.lastAccuracy = record.accuracy
      if record.finished { return model }
    }

    reporter.trainingStarted(epochs: configuration.epochs, resumedAt: state.epochsDone)
    while !trainer.isFinished(state) {
      let started = Date()
      let epoch = state.epochsDone + 1
      let summary: EpochSummary
      do {
        summary = try trainer.runEpoch(model: &model, state: &state) { done, total in
          reporter.batchFinished(epoch: epoch, batch: done, of: total)
          // A stop between batches abandons the epoch (its last batch completes it: committed).
          if done < total, stop.isStopRequested { throw EpochAbandoned(batch: done, batches: total) }
        }
      } catch let abandoned as EpochAbandoned {
        reporter.trainingFinished()
        let from = epoch > 1 ? "epoch \(epoch - 1)'s checkpoint" : "the initial weights"
        StandardStream.error("ntkbatch: training epoch \(epoch) abandoned after batch \(abandoned.batch) of \(abandoned.batches) (not committed); the next `ntkbatch run` repeats it from \(from)\n")
        return nil
      }
      guard summary.loss.isFinite else {
        reporter.trainingFinished()
        let kept = state.epochsDone > 1 ? "the checkpoint of epoch \(state.epochsDone - 1) is kept" : "no epoch was committed"
        throw CheckpointError(.failure, "\(store.directory): training epoch \(epoch) produced a non-finite loss (\(NonFiniteScan.describe(summary.loss))): stopped without committing it; \(kept) (model.train.lr \(settings.lr) may be too large)")
      }
      var record = identity
      record.epoch = state.epochsDone
      record.batchesSeen = state.batchesSeen
      record.generatorState = state.generator.state
      record.loss = summary.loss
      record.accuracy = summary.accuracy
      record.finished = trainer.isFinished(state)
      record.epochSeconds = Date().timeIntervalSince(started)
      record.finishedAt = ISO8601DateFormatter().string(from: Date())
      try store.commit(checkpoint: TrainingCheckpointFile.encode(model: model, momentum: state.optimizer.buffer), record: record)
      reporter.epochFinished(summary, seconds: Date().timeIntervalSince(started))
      if stop.isStopRequested, !record.finished {
        reporter.trainingFinished()
        return nil
      }
    }
    reporter.trainingFinished()
    return model
  }

  /// The fields (`path (run has …, now …)`) in which the manifest differs from `RUN/manifest.json`
  /// when they are all location fields (`ManifestDifference.isRelocation`; empty: none differs);
  /// `nil` when another field differs or the file is missing or damaged (nothing to compare with).
  /// The caller rewrites `RUN/manifest.json` when it resumes.
  private func relocation() -> [String]? {
    guard RunSession.manifestProblem(run: run) == nil, let saved = FileManager.default.contents(atPath: run.manifestPath),
          let fields = ManifestDifference.all(recorded: saved, current: Data(manifest.prettyJSON())),
          ManifestDifference.isRelocation(fields) else { return nil }
    return fields.map { "\($0.path) \($0.detail)" }
  }

  /// The refusal of training checkpoints made from other inputs: the differing hashes with their
  /// values (`initial weights hash (run has 59b208971a65…, now 8b21f0cbf857…)`), and the manifest
  /// only when it is another one (not merely moved).
  static func foreignTraining(_ differences: [String], record: TrainingRecord, now: TrainingRecord, recordPath: String) -> String {
    func short(_ h: ContentHash) -> String { String(h.hex.prefix(12)) + "…" }
    let phrases = differences.map { difference -> String in
      switch difference {
      case "initial weights hash":
        return "initial weights hash (run has \(short(record.initialWeightsHash)), now \(short(now.initialWeightsHash)): the weights file's contents changed)"
      case "training data hash":
        return "training data hash (run has \(short(record.inputDataHash)), now \(short(now.inputDataHash)): the training samples' images or labels changed)"
      default:
        return "manifest hash (run has \(short(record.manifestHash)), now \(short(now.manifestHash)))"
      }
    }
    if differences.contains("manifest hash") {
      return "\(recordPath): training checkpoints belong to another run (different \(phrases.joined(separator: "; "))); use another --run-dir"
    }
    return "\(recordPath): training checkpoints were made from other inputs by the same manifest (different \(phrases.joined(separator: "; "))); give the run's original files, or use another --run-dir"
  }

  /// SHA-256 over the input-data hash's digest and the labels as little-endian Int64.
  public static func dataHash(_ inputs: ContentHash, labels: [Int]) -> ContentHash {
    var hasher = ContentHasher()
    hasher.update(inputs.digestBytes)
    labels.map { Int64($0).littleEndian }.withUnsafeBytes { hasher.update($0) }
    return hasher.finalize()
  }
}
