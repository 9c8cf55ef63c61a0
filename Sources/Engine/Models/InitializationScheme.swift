/// How `Model.initialize(seed:)` draws a fresh model's state (models.md, "Default initialisation").
public enum InitializationScheme: String, Sendable {
  /// PyTorch defaults: Conv/Linear weight and bias uniform on ±1/√fan_in; BN weight 1, bias 0,
  /// running mean 0, running var 1.
  case pytorchDefault
  /// The WRN overrides after the defaults: conv weights normal with std √(2/fan_in), BN weight
  /// uniform on [0, 1], BN bias 0, Linear bias 0 (Linear weight keeps the default).
  /// Not reproduced: the original constructor's training-mode forward pass of one zero image,
  /// which leaves BN running statistics after one momentum-0.1 update.
  case wideResNet

  static func applyWideResNet<T: BLASScalar>(
    _ layer: any Layer<T>, state: UnsafeMutableBufferPointer<T>, generator: inout SplitMix64
  ) {
    if let conv = layer as? Conv2d<T> {
      let std = (2 / Double(conv.groupPatch)).squareRoot()
      for i in 0..<conv.weightCount { state[i] = T(std * generator.nextNormal()) }
    } else if let bn = layer as? BatchNorm2d<T> {
      for c in 0..<bn.channels {
        state[c] = T(generator.nextUnit())
        state[bn.channels + c] = 0
      }
    } else if let linear = layer as? Linear<T>, linear.hasBias {
      for o in 0..<linear.outputs { state[linear.outputs * linear.inputs + o] = 0 }
    }
  }
}
