import Foundation
import Storage

/// The training checkpoints of a run, saved after every epoch:
///
/// ```
/// RUN/training/
///   checkpoints/<sha256>.safetensors   model state + optimizer momentum after an epoch, named by
///                                      the SHA-256 of the file's bytes
///   latest.json                        the `TrainingRecord` of the last finished epoch
/// ```
///
/// Durability: the checkpoint is written to a temporary file, fsynced, renamed into place and its
/// directory fsynced; only then is `latest.json` replaced the same way (temporary → fsync →
/// rename → fsync directory), which is the commit point. A crash at any moment leaves
/// `latest.json` naming a complete checkpoint (or no `latest.json`: start from epoch 0). The
/// previous epoch's checkpoint is deleted after the commit; leftovers are harmless.
/// One writer at a time: the caller holds the run's lock.
public struct TrainingCheckpointStore: Sendable {
  /// `RUN/training`.
  public let directory: String

  public init(run: RunDirectory) {
    directory = run.path + "/training"
  }

  /// `RUN/training/latest.json`.
  public var recordPath: String { directory + "/latest.json" }
  /// `RUN/training/checkpoints`.
  public var checkpointsDirectory: String { directory + "/checkpoints" }

  /// The path of the checkpoint with hash `hash`.
  public func checkpointPath(_ hash: ContentHash) -> String { checkpointsDirectory + "/\(hash.hex).safetensors" }

  /// The last committed epoch's record and checkpoint bytes, or `nil` before the first epoch.
  ///
  /// - Throws: `CheckpointError` (`.damaged`) if `latest.json` does not decode or the checkpoint
  ///   it names is missing or does not re-hash; (`.failure`) on I/O errors.
  public func latest() throws -> (record: TrainingRecord, checkpoint: [UInt8])? {
    guard let record = try latestRecord() else { return nil }
    let path = checkpointPath(record.checkpoint)
    guard FileManager.default.fileExists(atPath: path) else {
      throw CheckpointError(.damaged, "\(path): missing training checkpoint of epoch \(record.epoch) named by \(recordPath)")
    }
    let bytes = try CheckpointError.wrapping { try FileBytes.read(path: path) }
    guard ContentHash.sha256(bytes) == record.checkpoint else {
      throw CheckpointError(.damaged, "\(path): training checkpoint of epoch \(record.epoch) does not match its SHA-256 name")
    }
    return (record, bytes)
  }

  /// The last committed epoch's record (`latest.json`) alone, without reading its checkpoint
  /// (`latest()` also reads and re-hashes that), or `nil` before the first epoch.
  ///
  /// - Throws: `CheckpointError` (`.damaged`) if `latest.json` does not decode; (`.failure`) on
  ///   I/O errors.
  public func latestRecord() throws -> TrainingRecord? {
    guard FileManager.default.fileExists(atPath: recordPath) else { return nil }
    let json = try CheckpointError.wrapping { try FileBytes.read(path: recordPath) }
    do {
      return try JSONDecodingProblem.decode(TrainingRecord.self, from: json).get()
    } catch {
      // Where the syntax error is, or which field is missing or of the wrong type.
      throw CheckpointError(.damaged, "\(recordPath): not a training record: \(error)")
    }
  }

  /// Commits an epoch: writes `checkpoint` durably under its hash, then replaces `latest.json`
  /// with `record` (whose `checkpoint` is set to that hash), then removes the previous checkpoint.
  ///
  /// - Throws: `CheckpointError` (`.failure`) on I/O errors (ENOSPC, EIO, …) or a record that
  ///   cannot be encoded (a non-finite loss or accuracy), in which case nothing is written and
  ///   `latest.json` still names the previous epoch.
  @discardableResult
  public func commit(checkpoint: [UInt8], record: TrainingRecord) throws -> TrainingRecord {
    let previous = (try? latestRecord())??.checkpoint
    try createDirectories()
    var record = record
    record.checkpoint = ContentHash.sha256(checkpoint)
    let path = checkpointPath(record.checkpoint)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    let json: Data
    do {
      json = try encoder.encode(record)  // fails for a NaN or infinite loss: nothing is committed
    } catch {
      throw CheckpointError(.failure, "\(recordPath): cannot encode the record of epoch \(record.epoch) (loss \(record.loss), accuracy \(record.accuracy)): expected finite numbers; the last good checkpoint is kept")
    }
    try CheckpointError.wrapping {
      if !FileManager.default.fileExists(atPath: path) { try AtomicFile.write(checkpoint, to: path) }
      try AtomicFile.write(json + Data([0x0A]), to: recordPath)
    }
    if let previous, previous != record.checkpoint {
      try? SystemFile.remove(path: checkpointPath(previous))
    }
    return record
  }

  private func createDirectories() throws {
    for folder in [directory, checkpointsDirectory] {
      try CheckpointError.wrapping { try SystemFile.createDirectoryDurably(path: folder) }
    }
  }
}
