extension ModelZoo {
  /// ResNet residual block kinds (He et al., "Deep Residual Learning for Image Recognition",
  /// CVPR 2016), in the CIFAR variant of models.md.
  enum ResNetBlock {
    /// Two 3×3 convolutions, expansion 1.
    case basic
    /// 1×1 → 3×3 (stride) → 1×1 to 4× planes, expansion 4.
    case bottleneck

    var expansion: Int { self == .basic ? 1 : 4 }
  }

  /// ResNet variants: name → (block, blocks per layer).
  static let resNets: [String: (block: ResNetBlock, counts: [Int])] = [
    "resnet9": (.basic, [1, 1, 1, 1]),
    "resnet18": (.basic, [2, 2, 2, 2]),
    "resnet34": (.basic, [3, 4, 6, 3]),
    "resnet68": (.basic, [3, 4, 23, 3]),
    "resnet50": (.bottleneck, [3, 4, 6, 3]),
    "resnet101": (.bottleneck, [3, 4, 23, 3]),
    "resnet152": (.bottleneck, [3, 8, 36, 3]),
  ]

  /// Stem `conv1`/`bn1`/relu, `layer1`…`layer4` (planes w, 2w, 4w, 8w; first-block strides 1, 2, 2, 2),
  /// avgpool(4), flatten, `linear(8w·expansion, 10)`.
  static func buildResNet<T: BLASScalar>(
    _ builder: inout ModelBuilder<T>, block: ResNetBlock, counts: [Int], width w: Int
  ) throws {
    try builder.convolution("conv1", 3, w, kernelSize: 3, padding: 1, batchNorm: "bn1", relu: true)
    var inChannels = w
    for (l, count) in counts.enumerated() {
      let planes = w << l
      for b in 0..<count {
        let stride = (b == 0 && l > 0) ? 2 : 1
        let path = "layer\(l + 1).\(b)"
        switch block {
        case .basic:
          try basicBlock(&builder, path, inChannels, planes, stride)
        case .bottleneck:
          try bottleneckBlock(&builder, path, inChannels, planes, stride)
        }
        inChannels = planes * block.expansion
      }
    }
    try builder.layer("", AvgPool2d<T>(4))
    try builder.layer("", Flatten<T>())
    try builder.layer("linear", Linear<T>(inChannels, 10))
  }

  /// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).
  private static func basicBlock<T: BLASScalar>(
    _ builder: inout ModelBuilder<T>, _ path: String, _ inChannels: Int, _ planes: Int, _ stride: Int
  ) throws {
    let x = builder.last
    try builder.convolution(
      "\(path).conv1", inChannels, planes, kernelSize: 3, stride: stride, padding: 1, batchNorm: "\(path).bn1", relu: true)
    let y = try builder.convolution("\(path).conv2", planes, planes, kernelSize: 3, padding: 1, batchNorm: "\(path).bn2")
    let shortcut = try projection(&builder, path, x, inChannels, planes, stride)
    try builder.add([y, shortcut])
    try builder.layer("", ReLU<T>())
  }

  /// relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x)), conv2 carrying the stride.
  private static func bottleneckBlock<T: BLASScalar>(
    _ builder: inout ModelBuilder<T>, _ path: String, _ inChannels: Int, _ planes: Int, _ stride: Int
  ) throws {
    let x = builder.last
    try builder.convolution("\(path).conv1", inChannels, planes, kernelSize: 1, batchNorm: "\(path).bn1", relu: true)
    try builder.convolution(
      "\(path).conv2", planes, planes, kernelSize: 3, stride: stride, padding: 1, batchNorm: "\(path).bn2", relu: true)
    let y = try builder.convolution("\(path).conv3", planes, 4 * planes, kernelSize: 1, batchNorm: "\(path).bn3")
    let shortcut = try projection(&builder, path, x, inChannels, 4 * planes, stride)
    try builder.add([y, shortcut])
    try builder.layer("", ReLU<T>())
  }

  /// Identity, or `shortcut.0 = Conv(in, out, 1, stride)` + `shortcut.1 = BN(out)` when the
  /// stride is not 1 or the channel count changes.
  private static func projection<T: BLASScalar>(
    _ builder: inout ModelBuilder<T>, _ path: String, _ x: Int, _ inChannels: Int, _ outChannels: Int, _ stride: Int
  ) throws -> Int {
    if stride == 1 && inChannels == outChannels { return x }
    return try builder.convolution(
      "\(path).shortcut.0", inChannels, outChannels, kernelSize: 1, stride: stride, batchNorm: "\(path).shortcut.1",
      input: x)
  }
}
