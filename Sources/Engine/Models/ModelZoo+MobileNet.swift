extension ModelZoo {
  /// MobileNet (Howard et al., 2017), CIFAR variant: stem `conv1`(3→32)/`bn1`/relu, 13 depthwise-
  /// separable blocks `layers.i` (depthwise 3×3 `conv1` with stride, `bn1`, relu, pointwise `conv2`,
  /// `bn2`, relu), avgpool(2), flatten, `linear(1024, 10)`.
  static func buildMobileNet<T: BLASScalar>(_ builder: inout ModelBuilder<T>) throws {
    let blocks: [(out: Int, stride: Int)] = [
      (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
      (1024, 2), (1024, 1),
    ]
    try builder.convolution("conv1", 3, 32, kernelSize: 3, padding: 1, batchNorm: "bn1", relu: true)
    var inChannels = 32
    for (i, block) in blocks.enumerated() {
      try builder.convolution(
        "layers.\(i).conv1", inChannels, inChannels, kernelSize: 3, stride: block.stride, padding: 1,
        groups: inChannels, batchNorm: "layers.\(i).bn1", relu: true)
      try builder.convolution(
        "layers.\(i).conv2", inChannels, block.out, kernelSize: 1, batchNorm: "layers.\(i).bn2", relu: true)
      inChannels = block.out
    }
    try builder.layer("", AvgPool2d<T>(2))
    try builder.layer("", Flatten<T>())
    try builder.layer("linear", Linear<T>(1024, 10))
  }

  /// MobileNetV2 (Sandler et al., CVPR 2018), CIFAR variant: stem `conv1`(3→32)/`bn1`/relu, 17
  /// inverted-residual blocks `layers.i`, `conv2`(320→1280)/`bn2`/relu, avgpool(4), flatten,
  /// `linear(1280, 10)`.
  static func buildMobileNetV2<T: BLASScalar>(_ builder: inout ModelBuilder<T>) throws {
    let groups: [(expansion: Int, out: Int, count: Int, stride: Int)] = [
      (1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]
    try builder.convolution("conv1", 3, 32, kernelSize: 3, padding: 1, batchNorm: "bn1", relu: true)
    var inChannels = 32
    var index = 0
    for group in groups {
      for k in 0..<group.count {
        try invertedResidual(
          &builder, "layers.\(index)", inChannels, group.out, group.expansion, k == 0 ? group.stride : 1)
        inChannels = group.out
        index += 1
      }
    }
    try builder.convolution("conv2", 320, 1280, kernelSize: 1, batchNorm: "bn2", relu: true)
    try builder.layer("", AvgPool2d<T>(4))
    try builder.layer("", Flatten<T>())
    try builder.layer("linear", Linear<T>(1280, 10))
  }

  /// bn3(conv3(relu(bn2(conv2_dw(relu(bn1(conv1(x)))))))) (+ shortcut(x) when stride 1).
  private static func invertedResidual<T: BLASScalar>(
    _ builder: inout ModelBuilder<T>, _ path: String, _ inChannels: Int, _ outChannels: Int, _ expansion: Int,
    _ stride: Int
  ) throws {
    let x = builder.last
    let hidden = expansion * inChannels
    try builder.convolution("\(path).conv1", inChannels, hidden, kernelSize: 1, batchNorm: "\(path).bn1", relu: true)
    try builder.convolution(
      "\(path).conv2", hidden, hidden, kernelSize: 3, stride: stride, padding: 1, groups: hidden,
      batchNorm: "\(path).bn2", relu: true)
    let y = try builder.convolution("\(path).conv3", hidden, outChannels, kernelSize: 1, batchNorm: "\(path).bn3")
    guard stride == 1 else { return }
    let shortcut = inChannels == outChannels
      ? x
      : try builder.convolution(
        "\(path).shortcut.0", inChannels, outChannels, kernelSize: 1, batchNorm: "\(path).shortcut.1", input: x)
    try builder.add([y, shortcut])
  }
}
