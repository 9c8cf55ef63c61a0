/// The training recipe of the original tool (ntk.md, "Training"): SGD with momentum and weight
/// decay on the mean cross-entropy, cosine-annealed learning rate stepped per epoch, shuffled
/// mini-batches, stopping early once an epoch's training accuracy exceeds `targetAccuracy`.
///
/// The first five values are a manifest's `model.train` fields, whose defaults the manifest owns
/// (Checkpoint's `Manifest.Training`); momentum and weight decay are the recipe's constants.
public struct TrainingConfiguration: Equatable, Sendable {
  /// Base learning rate η (epoch 0).
  public var learningRate: Double
  /// Samples per mini-batch (the last batch of an epoch may be smaller).
  public var batchSize: Int
  /// Most epochs to train, and the cosine schedule's period.
  public var epochs: Int
  /// Stop after the first epoch whose training accuracy (on its augmented batches, as fraction)
  /// exceeds this.
  public var targetAccuracy: Double
  /// Seed of the generator that shuffles and augments (the initial weights have their own seed).
  public var seed: UInt64
  /// SGD momentum μ, 0.9.
  public var momentum: Double
  /// SGD weight decay λ, 5e-4.
  public var weightDecay: Double

  public init(
    learningRate: Double, batchSize: Int, epochs: Int, targetAccuracy: Double, seed: UInt64,
    momentum: Double = 0.9, weightDecay: Double = 5e-4
  ) {
    self.learningRate = learningRate
    self.batchSize = batchSize
    self.epochs = epochs
    self.targetAccuracy = targetAccuracy
    self.seed = seed
    self.momentum = momentum
    self.weightDecay = weightDecay
  }
}

/// Everything besides the model's state that training needs to continue exactly where it
/// stopped: saved with the weights after every epoch, it makes a resumed run bit-identical to an
/// uninterrupted one.
public struct TrainingState<T: BLASScalar>: Equatable {
  /// Epochs finished.
  public var epochsDone: Int
  /// The shuffling/augmentation generator, as it stands after `epochsDone` epochs.
  public var generator: SplitMix64
  /// The optimizer and its momentum buffer.
  public var optimizer: SGDMomentum<T>
  /// Training batches seen so far (PyTorch's BatchNorm `num_batches_tracked`).
  public var batchesSeen: Int
  /// Mean loss of the last finished epoch.
  public var lastLoss: Double?
  /// Training accuracy (fraction) of the last finished epoch.
  public var lastAccuracy: Double?

  /// The state before the first epoch.
  public init(configuration: TrainingConfiguration, parameterCount: Int) {
    epochsDone = 0
    generator = SplitMix64(seed: configuration.seed)
    optimizer = SGDMomentum(parameterCount: parameterCount, momentum: configuration.momentum, weightDecay: configuration.weightDecay)
    batchesSeen = 0
  }
}

/// What one epoch did.
public struct EpochSummary: Equatable, Sendable {
  /// The epoch's number, 1-based (= `epochsDone` after it).
  public var epoch: Int
  /// Mean cross-entropy over the epoch's samples.
  public var loss: Double
  /// Fraction of the epoch's (augmented) samples classified correctly before their step.
  public var accuracy: Double
  /// The learning rate used.
  public var learningRate: Double
  /// Mini-batches in the epoch.
  public var batches: Int
}
