/// The model factory: builds a classifier of `models.md` by name, with PyTorch `state_dict` key
/// names and order. Inputs `[B, 3, 32, 32]`, outputs `[B, 10]`.
public enum ModelZoo {
  /// Names of the models this build can construct.
  public static let names: [String] = ["logistic", "twolayer", "lenet"]

  /// Builds model `name` with zero state (call `initialize(seed:)` or `load(state:)`).
  /// `width` is ignored by logistic, twolayer and lenet.
  /// Throws `EngineError.unknownModel` for a name not in `names`.
  public static func make<T: BLASScalar>(name: String, width: Int = 0, scalar: T.Type = T.self) throws -> Model<T> {
    var builder = ModelBuilder<T>(inputShape: [3, 32, 32])
    switch name {
    case "logistic":
      try builder.layer("", Flatten<T>())
      try builder.layer("linear", Linear<T>(3072, 10))
    case "twolayer":
      try builder.layer("", Flatten<T>())
      try builder.layer("fc1", Linear<T>(3072, 120))
      try builder.layer("", Tanh<T>())
      try builder.layer("fc2", Linear<T>(120, 10))
    case "lenet":
      try builder.layer("conv1", Conv2d<T>(3, 6, kernelSize: 5, bias: true))
      try builder.layer("", ReLU<T>())
      try builder.layer("", MaxPool2d<T>(2))
      try builder.layer("conv2", Conv2d<T>(6, 16, kernelSize: 5, bias: true))
      try builder.layer("", ReLU<T>())
      try builder.layer("", MaxPool2d<T>(2))
      try builder.layer("", Flatten<T>())
      try builder.layer("fc1", Linear<T>(400, 120))
      try builder.layer("", ReLU<T>())
      try builder.layer("fc2", Linear<T>(120, 84))
      try builder.layer("", ReLU<T>())
      try builder.layer("fc3", Linear<T>(84, 10))
    default:
      throw EngineError(.unknownModel, "unknown model '\(name)'; known models: \(names.joined(separator: ", "))")
    }
    return builder.build(name: name, width: width)
  }
}
