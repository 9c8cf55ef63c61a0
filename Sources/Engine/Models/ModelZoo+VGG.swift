extension ModelZoo {
  /// VGG configurations (Simonyan & Zisserman, ICLR 2015) with BatchNorm: a number c is
  /// `Conv(in, c, 3, p=1, bias)`, `BN(c)`, relu (three `features` slots), 0 stands for `M`,
  /// maxpool(2) (one slot).
  static let vggConfigurations: [String: [Int]] = [
    "vgg11": [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
    "vgg13": [64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
  ]

  /// `features` (keys `features.<slot>`), a closing avgpool(1) slot, flatten (512), `classifier(512, 10)`.
  static func buildVGG<T: BLASScalar>(_ builder: inout ModelBuilder<T>, configuration: [Int]) throws {
    var slot = 0
    var inChannels = 3
    for entry in configuration {
      if entry == 0 {
        try builder.layer("", MaxPool2d<T>(2))
        slot += 1
      } else {
        try builder.convolution(
          "features.\(slot)", inChannels, entry, kernelSize: 3, padding: 1, bias: true,
          batchNorm: "features.\(slot + 1)", relu: true)
        slot += 3
        inChannels = entry
      }
    }
    try builder.layer("", AvgPool2d<T>(1))
    try builder.layer("", Flatten<T>())
    try builder.layer("classifier", Linear<T>(512, 10))
  }
}
