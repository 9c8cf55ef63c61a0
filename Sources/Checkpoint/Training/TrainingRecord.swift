import Storage

/// What `RUN/training/latest.json` says about the last finished training epoch: where its
/// checkpoint is, everything needed to continue besides that file's tensors, and what the
/// training is *of* (hashes checked on resume).
public struct TrainingRecord: Codable, Equatable, Sendable {
  /// Epochs finished (1-based number of the last one).
  public var epoch: Int
  /// Training mini-batches seen so far (BatchNorm `num_batches_tracked`).
  public var batchesSeen: Int
  /// The shuffling/augmentation generator's state after the epoch (`SplitMix64.state`).
  public var generatorState: UInt64
  /// Mean cross-entropy over the epoch's samples.
  public var loss: Double
  /// Training accuracy of the epoch (fraction of augmented samples classified correctly).
  public var accuracy: Double
  /// Whether training is over (all epochs done, or the accuracy target exceeded).
  public var finished: Bool
  /// SHA-256 of the checkpoint file (`RUN/training/checkpoints/<hash>.safetensors`).
  public var checkpoint: ContentHash
  /// `Manifest.canonicalHash` of the run.
  public var manifestHash: ContentHash
  /// Hash of the weights training started from.
  public var initialWeightsHash: ContentHash
  /// Hash of the training inputs.
  public var inputDataHash: ContentHash
  /// When the epoch was committed (ISO 8601, UTC, whole seconds); `nil` in records written before
  /// this field existed. Not part of the training's identity: `status` reads it for its ETA.
  public var finishedAt: String? = nil
  /// Wall seconds the epoch took (its batches, without the checkpoint's write); `nil` in records
  /// written before this field existed. `status` estimates the training's time left from it.
  public var epochSeconds: Double? = nil

  public init(
    epoch: Int, batchesSeen: Int, generatorState: UInt64, loss: Double, accuracy: Double, finished: Bool,
    checkpoint: ContentHash, manifestHash: ContentHash, initialWeightsHash: ContentHash, inputDataHash: ContentHash,
    finishedAt: String? = nil, epochSeconds: Double? = nil
  ) {
    self.epoch = epoch
    self.batchesSeen = batchesSeen
    self.generatorState = generatorState
    self.loss = loss
    self.accuracy = accuracy
    self.finished = finished
    self.checkpoint = checkpoint
    self.manifestHash = manifestHash
    self.initialWeightsHash = initialWeightsHash
    self.inputDataHash = inputDataHash
    self.finishedAt = finishedAt
    self.epochSeconds = epochSeconds
  }

  /// What differs from `recorded` in the identity fields, one phrase each; empty when the same.
  public func identityDifferences(from recorded: TrainingRecord) -> [String] {
    var out: [String] = []
    if manifestHash != recorded.manifestHash { out.append("manifest hash") }
    if initialWeightsHash != recorded.initialWeightsHash { out.append("initial weights hash") }
    if inputDataHash != recorded.inputDataHash { out.append("training data hash") }
    return out
  }
}
