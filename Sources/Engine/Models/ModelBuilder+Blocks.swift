extension ModelBuilder {
  /// Appends `Conv(in, out, k, stride, padding, groups, bias)` under `path`, then, if `batchNorm`
  /// is given, `BN(out)` under that path, then ReLU if `relu`. Returns the last node.
  @discardableResult
  mutating func convolution(
    _ path: String, _ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
    groups: Int = 1, bias: Bool = false, batchNorm: String? = nil, relu: Bool = false, input: Int? = nil
  ) throws -> Int {
    try layer(
      path,
      Conv2d<T>(inChannels, outChannels, kernelSize: kernelSize, stride: stride, padding: padding, groups: groups, bias: bias),
      input: input)
    if let batchNorm { try layer(batchNorm, BatchNorm2d<T>(outChannels)) }
    if relu { try layer("", ReLU<T>()) }
    return last
  }
}
