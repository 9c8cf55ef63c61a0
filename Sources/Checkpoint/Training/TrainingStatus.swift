import Foundation

/// The training stage of a `model.train` run as `ntkbatch status` shows it, from
/// `RUN/training/latest.json` (read by `TrainingCheckpointStore.latestRecord()`; its checkpoint
/// is only looked for, not read: `verify` re-hashes it), `model.train` of `RUN/manifest.json` and
/// the run's lock.
public struct TrainingStatus: Codable, Equatable, Sendable {
  /// The last committed epoch (1-based); 0 while the first epoch is in progress.
  public var epoch: Int
  /// `model.train.epochs` (the most epochs), when `RUN/manifest.json` says.
  public var epochs: Int?
  /// `model.train.targetAccuracy` (training stops after an epoch above it), when known.
  public var targetAccuracy: Double?
  /// Mean cross-entropy and training accuracy of the last committed epoch.
  public var loss: Double?
  public var accuracy: Double?
  /// Whether training is over (all epochs done or the accuracy target exceeded).
  public var finished: Bool
  /// Whether a writer holds the run's lock while training is not finished: it is training.
  public var running: Bool
  /// When the last epoch was committed (ISO 8601), if its record says (records of older versions do not).
  public var lastEpochAt: String?
  /// Wall seconds of the last committed epoch, if its record says.
  public var secondsPerEpoch: Double?
  /// Epochs left at most (`epochs − epoch`; fewer when the accuracy target is exceeded earlier).
  public var epochsLeft: Int?
  /// Seconds of training left at most, while running: `secondsPerEpoch` × the epochs left, less
  /// the time the epoch in progress has already run (since `lastEpochAt`). `nil` when not running
  /// or the record has no epoch times (then no ETA is guessed).
  public var etaSeconds: Double?
  /// What is wrong with `latest.json` (does not decode, impossible numbers), if anything: `repair`
  /// sets it aside.
  public var problem: String?

  /// A training accuracy — a fraction 0…1, as `latest.json`, `status --json` and the manifest's
  /// `targetAccuracy` hold it — as every human-readable line shows it (`status`, `verify`, the
  /// training progress, messages quoting `latest.json`): a percentage with two decimals
  /// (`0.1875` → `18.75%`, `0.995` → `99.50%`).
  public static func percent(_ fraction: Double) -> String {
    String(format: "%.2f%%", fraction * 100)
  }

  /// The training state of `run`, or `nil` when it has none: no `latest.json` and no
  /// `model.train` in `RUN/manifest.json`, or the eNTK journal begun. Without a committed epoch it
  /// is epoch 0, running while a writer (`writer`: the lock holder, if any) trains the first one.
  ///
  /// - Parameter journalStarted: whether the journal has a header (the eNTK stage began: a
  ///   writer then computes tiles, it does not train).
  public static func read(run: RunDirectory, writer: String?, journalStarted: Bool, now: Date = Date()) -> TrainingStatus? {
    let store = TrainingCheckpointStore(run: run)
    let epochs = TrainingCheckpointStore.recordedEpochs(run: run)
    let target = TrainingCheckpointStore.recordedTargetAccuracy(run: run)
    let record: TrainingRecord?
    do {
      record = try store.latestRecord()
    } catch {
      return TrainingStatus(epoch: 0, epochs: epochs, targetAccuracy: target, finished: false, running: false,
                            problem: (error as? CheckpointError)?.description ?? "\(error)")
    }
    guard let record else {
      // No epoch committed yet, no eNTK journal, a manifest with model.train: the first epoch is in
      // progress (a writer), or the run stopped before committing one (`run` starts at epoch 1).
      guard !journalStarted, epochs != nil else { return nil }
      return TrainingStatus(epoch: 0, epochs: epochs, targetAccuracy: target, finished: false, running: writer != nil, epochsLeft: epochs)
    }
    var status = TrainingStatus(
      epoch: record.epoch, epochs: epochs, targetAccuracy: target, loss: record.loss, accuracy: record.accuracy,
      finished: record.finished, running: writer != nil && !record.finished && !journalStarted,
      lastEpochAt: record.finishedAt, secondsPerEpoch: record.epochSeconds,
      problem: store.recordProblem(record, epochs: epochs, targetAccuracy: target).map { "\(store.recordPath): \($0)" })
    let checkpoint = store.checkpointPath(record.checkpoint)
    // (A training writer may have just committed the next epoch and deleted this checkpoint: then
    // `latest.json` names another one.)
    if status.problem == nil, !FileManager.default.fileExists(atPath: checkpoint),
       writer == nil || (try? store.latestRecord())??.checkpoint == record.checkpoint {
      status.problem = "\(checkpoint): missing training checkpoint of epoch \(record.epoch) named by \(store.recordPath)"
    }
    if let epochs, !record.finished { status.epochsLeft = max(0, epochs - record.epoch) }
    if status.running, status.problem == nil, let left = status.epochsLeft, left > 0, let perEpoch = record.epochSeconds, perEpoch > 0,
       let committed = record.finishedAt.flatMap(ISO8601DateFormatter().date(from:)) {
      // The epoch in progress started at the last commit (or later, after a restart): what is
      // left of it, at most one epoch, then the remaining epochs.
      let inProgress = max(0, perEpoch - now.timeIntervalSince(committed))
      status.etaSeconds = Double(left - 1) * perEpoch + min(perEpoch, inProgress)
    }
    return status
  }
}
