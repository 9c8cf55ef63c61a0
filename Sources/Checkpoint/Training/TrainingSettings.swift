extension Manifest {
  /// The manifest's optional `model.train` object: train the model (from its `weights` or seeded
  /// initialisation) before computing the eNTK of the trained weights (README, "Training first,
  /// as the original tool did").
  ///
  /// ```json
  /// "train": {"lr": 0.1, "batchSize": 64, "epochs": 200, "targetAccuracy": 0.995, "seed": 0, "samples": 5000}
  /// ```
  /// Every field is optional, with the defaults shown. Absent `train` = no training (and a
  /// manifest hash unchanged from manifests written before this field existed).
  public struct Training: Codable, Equatable, Sendable {
    /// `train.lr`: base learning rate of SGD (momentum 0.9, weight decay 5e-4), cosine-annealed
    /// per epoch; a positive number (default 0.1).
    public var lr: Double
    /// `train.batchSize`: samples per mini-batch, 1…`maximumBatchSize` (default 64).
    public var batchSize: Int
    /// `train.epochs`: most epochs, and the cosine period, 1…`maximumEpochs` (default 200).
    public var epochs: Int
    /// `train.targetAccuracy`: stop after the first epoch whose training accuracy exceeds it,
    /// a number in [0, 1] (default 0.995).
    public var targetAccuracy: Double
    /// `train.seed`: seed of the shuffling and augmentation generator, non-negative (default 0).
    public var seed: Int
    /// `train.samples`: train on the first N samples of the training split (positive; default:
    /// all of it, as the original tool trained on the full split while `dataset.subsample` chose
    /// the eNTK's samples).
    public var samples: Int?

    /// The defaults here are the one definition of the training defaults: the manifest validator
    /// reads them (`Training()`), and so does `generate` for its options.
    public init(lr: Double = 0.1, batchSize: Int = 64, epochs: Int = 200, targetAccuracy: Double = 0.995, seed: Int = 0,
                samples: Int? = nil) {
      self.lr = lr
      self.batchSize = batchSize
      self.epochs = epochs
      self.targetAccuracy = targetAccuracy
      self.seed = seed
      self.samples = samples
    }

    /// Largest accepted `train.batchSize`.
    public static let maximumBatchSize = 1 << 20
    /// Largest accepted `train.epochs`.
    public static let maximumEpochs = 1_000_000
  }
}
