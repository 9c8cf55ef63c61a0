/// Trains a model on a labelled dataset epoch by epoch (`TrainingConfiguration` describes the recipe).
///
/// An epoch: shuffle the sample indices (Fisher–Yates with the state's generator), cut them into
/// mini-batches of `batchSize`, augment each batch's images (`Augmentation`, same generator), then
/// per batch run the training-mode forward and reverse pass (`Model.trainingGradient`: mean
/// cross-entropy, BatchNorm with batch statistics and running-statistics update) and one
/// `SGDMomentum` step with the epoch's cosine-annealed learning rate.
///
/// Deterministic: the result depends only on the model's initial state, the data, the
/// configuration and the OpenBLAS thread count (BLAS reductions may be ordered per thread count).
public struct Trainer<T: BLASScalar> {
  public let configuration: TrainingConfiguration
  /// Training images `[N, 3, 32, 32]`, preprocessed.
  public let inputs: Tensor<T>
  /// Their labels, N values in 0…9.
  public let labels: [Int]
  public let augmentation: Augmentation

  /// - Throws: `EngineError.shapeMismatch` if the label count differs from N or N is 0.
  public init(configuration: TrainingConfiguration, inputs: Tensor<T>, labels: [Int], augmentation: Augmentation) throws {
    guard inputs.batchSize > 0, labels.count == inputs.batchSize else {
      throw EngineError(.shapeMismatch, "training needs one label per image, found \(labels.count) label\(labels.count == 1 ? "" : "s") for \(inputs.batchSize) image\(inputs.batchSize == 1 ? "" : "s")")
    }
    self.configuration = configuration
    self.inputs = inputs
    self.labels = labels
    self.augmentation = augmentation
  }

  /// Whether training is over: all `epochs` done, or the last epoch's accuracy exceeded the target.
  public func isFinished(_ state: TrainingState<T>) -> Bool {
    state.epochsDone >= configuration.epochs || (state.lastAccuracy ?? 0) > configuration.targetAccuracy
  }

  /// Runs epoch `state.epochsDone + 1`, updating the model's state and `state`.
  ///
  /// - Parameter afterBatch: called after each step with (batches done, batches in the epoch); an
  ///   error it throws abandons the epoch there (`model` and `state` are then mid-epoch: restore
  ///   them from the last checkpoint to continue).
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func runEpoch(
    model: inout Model<T>, state: inout TrainingState<T>, afterBatch: (Int, Int) throws -> Void = { _, _ in }
  ) throws -> EpochSummary {
    let count = inputs.batchSize
    var order = Array(0..<count)
    for i in stride(from: count - 1, to: 0, by: -1) {
      order.swapAt(i, Int(state.generator.next() % UInt64(i + 1)))
    }
    let learningRate = SGDMomentum<T>.cosineLearningRate(
      base: configuration.learningRate, epoch: state.epochsDone, epochs: configuration.epochs)
    let batches = (count + configuration.batchSize - 1) / configuration.batchSize
    var (lossSum, correct) = (0.0, 0)
    for b in 0..<batches {
      let indices = order[(b * configuration.batchSize)..<min(count, (b + 1) * configuration.batchSize)]
      let batch = augmentation.batch(inputs, indices: indices, generator: &state.generator)
      let (loss, gradient) = try model.trainingGradient(inputs: batch, labels: ArraySlice(indices.map { labels[$0] }))
      var theta = model.parameters()
      state.optimizer.step(parameters: &theta, gradient: gradient, learningRate: learningRate)
      model.setParameters(theta)
      state.batchesSeen += 1
      lossSum += loss.loss * Double(indices.count)
      correct += loss.correct
      try afterBatch(b + 1, batches)
    }
    state.epochsDone += 1
    state.lastLoss = lossSum / Double(count)
    state.lastAccuracy = Double(correct) / Double(count)
    return EpochSummary(
      epoch: state.epochsDone, loss: state.lastLoss!, accuracy: state.lastAccuracy!, learningRate: learningRate, batches: batches)
  }
}
