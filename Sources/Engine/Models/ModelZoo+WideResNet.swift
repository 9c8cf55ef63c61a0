extension ModelZoo {
  /// Wide ResNet 28-k (Zagoruyko & Komodakis, BMVC 2016), pre-activation blocks: stem `conv`(3→16),
  /// `stage1…3` of 4 blocks (16k, 32k, 64k channels; strides 1, 2, 2), `bn`, relu, global average
  /// pool, flatten, `fc(64k, 10)`.
  static func buildWideResNet<T: BLASScalar>(_ builder: inout ModelBuilder<T>, k: Int) throws {
    builder.initialization = .wideResNet
    try builder.convolution("conv", 3, 16, kernelSize: 3, padding: 1)
    var inChannels = 16
    for (s, (channels, stride)) in [(16 * k, 1), (32 * k, 2), (64 * k, 2)].enumerated() {
      for b in 1...4 {
        try wideBlock(&builder, "stage\(s + 1).block\(b)", inChannels, channels, b == 1 ? stride : 1)
        inChannels = channels
      }
    }
    try builder.layer("bn", BatchNorm2d<T>(inChannels))
    try builder.layer("", ReLU<T>())
    try builder.layer("", GlobalAvgPool2d<T>())
    try builder.layer("", Flatten<T>())
    try builder.layer("fc", Linear<T>(inChannels, 10))
  }

  /// a = relu(bn1(x)); y = conv2(relu(bn2(conv1(a)))); output y + shortcut.conv(a) when the channel
  /// count changes, else y + x.
  private static func wideBlock<T: BLASScalar>(
    _ builder: inout ModelBuilder<T>, _ path: String, _ inChannels: Int, _ outChannels: Int, _ stride: Int
  ) throws {
    let x = builder.last
    try builder.layer("\(path).bn1", BatchNorm2d<T>(inChannels))
    let activated = try builder.layer("", ReLU<T>())
    try builder.convolution("\(path).conv1", inChannels, outChannels, kernelSize: 3, stride: stride, padding: 1)
    try builder.layer("\(path).bn2", BatchNorm2d<T>(outChannels))
    try builder.layer("", ReLU<T>())
    let y = try builder.convolution("\(path).conv2", outChannels, outChannels, kernelSize: 3, padding: 1, bias: true)
    let shortcut = inChannels == outChannels
      ? x
      : try builder.convolution(
        "\(path).shortcut.conv", inChannels, outChannels, kernelSize: 1, stride: stride, input: activated)
    try builder.add([y, shortcut])
  }
}
