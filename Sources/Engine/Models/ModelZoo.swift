/// The model factory: builds a classifier of `models.md` by name, with PyTorch `state_dict` key
/// names and order. Inputs `[B, 3, 32, 32]`, outputs `[B, 10]`.
public enum ModelZoo {
  /// Names of the models this build can construct.
  public static let names: [String] = [
    "logistic", "twolayer", "lenet",
    "resnet9", "resnet18", "resnet34", "resnet68", "resnet50", "resnet101", "resnet152",
    "vgg11", "vgg13", "mobilenet", "mobilenetv2", "wrn-28-2", "wrn-28-5", "wrn-28-10", "densenet121",
  ]

  /// The width used when `make` is given width 0 for a model that has a width (ResNets: 64).
  public static let defaultWidth = 64

  /// Whether model `name` has a width (`model.width`: the ResNets); the others ignore it.
  public static func hasWidth(_ name: String) -> Bool { resNets[name] != nil }

  /// Builds model `name` with zero state (call `initialize(seed:)` or `load(state:)`).
  /// `width` is the ResNet width w (0 = the default 64) and is ignored by logistic, twolayer and lenet.
  /// Throws `EngineError.unknownModel` for a name not in `names` or a negative width.
  public static func make<T: BLASScalar>(name: String, width: Int = 0, scalar: T.Type = T.self) throws -> Model<T> {
    let (builder, resolvedWidth) = try self.builder(name: name, width: width, scalar: T.self)
    return builder.build(name: name, width: resolvedWidth)
  }

  /// The builder of model `name` before its state is allocated (shapes and counts only), and the
  /// resolved width. Throws as `make`.
  static func builder<T: BLASScalar>(name: String, width: Int, scalar: T.Type) throws -> (ModelBuilder<T>, Int) {
    var builder = ModelBuilder<T>(inputShape: [3, 32, 32])
    var resolvedWidth = width
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
    case let resnet where resNets[resnet] != nil:
      guard width >= 0 else {
        throw EngineError(.unknownModel, "model \(name): width must be positive, found \(width)")
      }
      let (block, counts) = resNets[resnet]!
      resolvedWidth = width == 0 ? defaultWidth : width
      try buildResNet(&builder, block: block, counts: counts, width: resolvedWidth)
    case let vgg where vggConfigurations[vgg] != nil:
      try buildVGG(&builder, configuration: vggConfigurations[vgg]!)
    case "mobilenet":
      try buildMobileNet(&builder)
    case "mobilenetv2":
      try buildMobileNetV2(&builder)
    case "wrn-28-2", "wrn-28-5", "wrn-28-10":
      try buildWideResNet(&builder, k: Int(name.dropFirst("wrn-28-".count))!)
    case "densenet121":
      try buildDenseNet121(&builder)
    default:
      throw EngineError(.unknownModel, "unknown model '\(name)'; known models: \(names.joined(separator: ", "))")
    }
    return (builder, resolvedWidth)
  }
}
