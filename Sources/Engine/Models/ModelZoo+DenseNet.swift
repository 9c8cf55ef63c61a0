extension ModelZoo {
  /// DenseNet-121 (Huang et al., CVPR 2017), CIFAR variant: growth 32, blocks 6-12-24-16,
  /// reduction 0.5. Stem `conv1`(3→64); dense blocks `dense1…4` (layer output = concat of the new
  /// 32 channels and the input, new first); transitions `trans1…3` (bn, relu, 1×1 conv halving
  /// channels, avgpool(2)); `bn`, relu, avgpool(4), flatten, `linear(1024, 10)`.
  static func buildDenseNet121<T: BLASScalar>(_ builder: inout ModelBuilder<T>) throws {
    let growth = 32
    try builder.convolution("conv1", 3, 2 * growth, kernelSize: 3, padding: 1)
    var channels = 2 * growth
    for (b, count) in [6, 12, 24, 16].enumerated() {
      for i in 0..<count {
        let path = "dense\(b + 1).\(i)"
        let x = builder.last
        try builder.layer("\(path).bn1", BatchNorm2d<T>(channels))
        try builder.layer("", ReLU<T>())
        try builder.convolution("\(path).conv1", channels, 4 * growth, kernelSize: 1, batchNorm: "\(path).bn2", relu: true)
        let new = try builder.convolution("\(path).conv2", 4 * growth, growth, kernelSize: 3, padding: 1)
        try builder.concat([new, x])
        channels += growth
      }
      if b < 3 {
        try builder.layer("trans\(b + 1).bn", BatchNorm2d<T>(channels))
        try builder.layer("", ReLU<T>())
        try builder.convolution("trans\(b + 1).conv", channels, channels / 2, kernelSize: 1)
        try builder.layer("", AvgPool2d<T>(2))
        channels /= 2
      }
    }
    try builder.layer("bn", BatchNorm2d<T>(channels))
    try builder.layer("", ReLU<T>())
    try builder.layer("", AvgPool2d<T>(4))
    try builder.layer("", Flatten<T>())
    try builder.layer("linear", Linear<T>(channels, 10))
  }
}
