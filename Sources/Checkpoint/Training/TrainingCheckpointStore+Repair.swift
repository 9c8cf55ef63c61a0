import Foundation
import Storage

extension TrainingCheckpointStore {
  /// Why `record` cannot be a committed epoch of a training of at most `epochs` epochs toward
  /// `targetAccuracy` (`nil`: unknown), or `nil` when its numbers are possible: 1 ≤ epoch ≤
  /// epochs, batchesSeen ≥ 0, and `finished` exactly when epoch == epochs or the accuracy exceeds
  /// the target (`Trainer.isFinished`, which sets it): `finished: true` before that would skip the
  /// remaining epochs, `finished: false` after it would leave a training `run` cannot continue
  /// (no epoch is left) nor `export-weights` accept — both are damage, set aside by `repair`.
  public func recordProblem(_ record: TrainingRecord, epochs: Int?, targetAccuracy: Double? = nil) -> String? {
    if record.epoch < 1 || epochs.map({ record.epoch > $0 }) == true {
      return "epoch: expected 1…\(epochs.map(String.init) ?? "model.train.epochs"), found \(record.epoch)"
    }
    if record.batchesSeen < 0 { return "batchesSeen: expected ≥ 0, found \(record.batchesSeen)" }
    if record.finished, let epochs, record.epoch < epochs, let targetAccuracy, !(record.accuracy > targetAccuracy) {
      return "finished: true at epoch \(record.epoch) of \(epochs) with accuracy \(record.accuracy) (\(TrainingStatus.percent(record.accuracy))), not above targetAccuracy \(targetAccuracy) (\(TrainingStatus.percent(targetAccuracy))): the training cannot have finished"
    }
    if !record.finished, let epochs, record.epoch == epochs {
      return "finished: false at epoch \(record.epoch) of \(epochs): training records finished: true after its last epoch"
    }
    if !record.finished, let targetAccuracy, record.accuracy > targetAccuracy {
      return "finished: false with accuracy \(record.accuracy) (\(TrainingStatus.percent(record.accuracy))) above targetAccuracy \(targetAccuracy) (\(TrainingStatus.percent(targetAccuracy))): training records finished: true after such an epoch"
    }
    return nil
  }

  /// What is wrong with the training state (`latest.json` that does not decode, names a missing
  /// or damaged checkpoint, or holds impossible numbers: `recordProblem`), or `nil` when it is
  /// intact or absent. Reads only.
  ///
  /// - Throws: `CheckpointError` (`.failure`) on I/O errors.
  public func damage(epochs: Int?, targetAccuracy: Double? = nil) throws -> String? {
    do {
      guard let (record, _) = try latest() else { return nil }
      return recordProblem(record, epochs: epochs, targetAccuracy: targetAccuracy).map { "\(recordPath): \($0)" }
    } catch let error as CheckpointError where error.code == .damaged {
      return error.description
    }
  }

  /// Sets damaged training state aside so that `run` trains again from the start: when
  /// `latest.json` does not decode, names a missing or damaged checkpoint, or holds impossible
  /// numbers (`recordProblem`), it is renamed `latest.json.damaged` (and a checkpoint that does
  /// not match its SHA-256 name `….safetensors.damaged`). Each epoch's commit deletes the previous
  /// checkpoint, so there is no earlier one to fall back to. The caller holds the run's lock.
  ///
  /// - Parameter epochs: `model.train.epochs` of the run, when known (`RUN/manifest.json`), and
  ///   `targetAccuracy` its `model.train.targetAccuracy`.
  /// - Returns: what was wrong, or `nil` when the state is intact or absent.
  /// - Throws: `CheckpointError` (`.failure`) on I/O errors.
  public func setAsideIfDamaged(epochs: Int?, targetAccuracy: Double? = nil) throws -> String? {
    guard let problem = try damage(epochs: epochs, targetAccuracy: targetAccuracy) else { return nil }
    if let data = FileManager.default.contents(atPath: recordPath),
       let record = try? JSONDecoder().decode(TrainingRecord.self, from: data) {
      let checkpoint = checkpointPath(record.checkpoint)
      if let bytes = FileManager.default.contents(atPath: checkpoint), ContentHash.sha256(bytes) != record.checkpoint {
        try CheckpointError.wrapping { try SystemFile.rename(from: checkpoint, to: Journal.damagedCopyPath(for: checkpoint)) }
      }
    }
    try CheckpointError.wrapping {
      try SystemFile.rename(from: recordPath, to: Journal.damagedCopyPath(for: recordPath))
      try SystemFile.syncDirectory(path: directory)
    }
    return problem
  }

  /// Moves the whole training state (`RUN/training`) to `RUN/training.<suffix>`, where neither
  /// `run`, `status`, `verify` nor `export-weights` reads it (a training that gave other weights
  /// than the journaled tiles'). The caller holds the run's lock.
  ///
  /// - Returns: the new path.
  /// - Throws: `CheckpointError` (`.failure`) on I/O errors (e.g. the destination exists).
  public func moveAside(suffix: String) throws -> String {
    let destination = directory + "." + suffix
    try CheckpointError.wrapping {
      try SystemFile.rename(from: directory, to: destination)
      try SystemFile.syncDirectory(path: (directory as NSString).deletingLastPathComponent)
    }
    return destination
  }

  /// `model.train.epochs` recorded in `RUN/manifest.json`, if the file says.
  public static func recordedEpochs(run: RunDirectory) -> Int? {
    guard let data = FileManager.default.contents(atPath: run.manifestPath),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let model = object["model"] as? [String: Any], let train = model["train"] as? [String: Any] else { return nil }
    return train["epochs"] as? Int
  }

  /// `model.train.targetAccuracy` recorded in `RUN/manifest.json`, if the file says.
  public static func recordedTargetAccuracy(run: RunDirectory) -> Double? {
    guard let data = FileManager.default.contents(atPath: run.manifestPath),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let model = object["model"] as? [String: Any], let train = model["train"] as? [String: Any] else { return nil }
    return (train["targetAccuracy"] as? NSNumber)?.doubleValue
  }
}
