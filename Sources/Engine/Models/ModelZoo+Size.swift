/// The size of a model without building it: a `ModelZoo` model at a width can hold hundreds of
/// GB of weights (resnet152 at width 4096: P ≈ 2.4·10¹¹), so listing or budgeting it must not
/// allocate its state.
public struct ModelSize: Equatable, Sendable {
  /// Trainable parameters P.
  public var parameterCount: Int
  /// State values: parameters plus buffers (BatchNorm running statistics).
  public var stateCount: Int

  public init(parameterCount: Int, stateCount: Int) {
    self.parameterCount = parameterCount
    self.stateCount = stateCount
  }

  /// Bytes of the model's state in scalar type `T` (what `ModelZoo.make` allocates).
  public func stateBytes<T: BLASScalar>(_ scalar: T.Type) -> Int {
    stateCount.multipliedReportingOverflow(by: MemoryLayout<T>.size).overflow ? Int.max : stateCount * MemoryLayout<T>.size
  }
}

extension ModelZoo {
  /// P and the state count of model `name` at `width`, from the layer shapes alone (nothing the
  /// size of the weights is allocated).
  ///
  /// - Throws: `EngineError.unknownModel` as `make`.
  public static func size(name: String, width: Int = 0) throws -> ModelSize {
    let (builder, _) = try builder(name: name, width: width, scalar: Float.self)
    return ModelSize(parameterCount: builder.parameterCount, stateCount: builder.stateCount)
  }
}
