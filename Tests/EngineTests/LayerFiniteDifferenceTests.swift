import XCTest

@testable import Engine

/// Central finite differences (float64) of every layer's reverse pass: input cotangents, summed
/// parameter gradients and per-row Jacobian parts, with `repeats` 1 and 3.
final class LayerFiniteDifferenceTests: XCTestCase {
  /// Checks `layer` on a batch of `inputShape` (with batch dimension) and the given state.
  func check<L: Layer>(
    _ layer: L, inputShape: [Int], state: [Double]? = nil, seed: UInt64 = 1,
    file: StaticString = #filePath, line: UInt = #line
  ) throws where L.Scalar == Double {
    var random = TestRandom(seed: seed)
    let theta = state ?? random.values(layer.stateCount)
    XCTAssertEqual(theta.count, layer.stateCount, file: file, line: line)
    let input = random.tensor(inputShape)
    let outputSample = try layer.outputShape(forInput: Array(inputShape.dropFirst()))
    let batch = inputShape[0]
    let h = 1e-6
    let tolerance = 1e-6

    for repeats in [1, 3] {
      let rows = batch * repeats
      let cotangent = random.tensor([rows] + outputSample)
      let outSize = outputSample.reduce(1, *)

      /// `L_r = c_r · y_{r/repeats}` for every row r.
      func rowLosses(_ x: Tensor<Double>, _ state: [Double]) -> [Double] {
        let y = state.withUnsafeBufferPointer { layer.forward(x, state: $0) }
        XCTAssertEqual(y.shape, [batch] + outputSample, file: file, line: line)
        return (0..<rows).map { r in
          (0..<outSize).reduce(0.0) { $0 + cotangent.storage[r * outSize + $1] * y.storage[(r / repeats) * outSize + $1] }
        }
      }

      let output = theta.withUnsafeBufferPointer { layer.forward(input, state: $0) }
      let dx = theta.withUnsafeBufferPointer {
        layer.inputCotangent(input: input, output: output, outputCotangent: cotangent, repeats: repeats, state: $0)
      }
      XCTAssertEqual(dx.shape, [rows] + Array(inputShape.dropFirst()), file: file, line: line)
      let inSize = input.sampleSize
      var worst = 0.0
      for n in 0..<batch {
        for i in 0..<inSize {
          var plus = input, minus = input
          plus.storage[n * inSize + i] += h
          minus.storage[n * inSize + i] -= h
          let lp = rowLosses(plus, theta), lm = rowLosses(minus, theta)
          for r in (n * repeats)..<((n + 1) * repeats) {
            let fd = (lp[r] - lm[r]) / (2 * h)
            worst = max(worst, abs(fd - dx.storage[r * inSize + i]) / (1 + abs(fd)))
          }
        }
      }
      XCTAssertLessThan(worst, tolerance, "input cotangent, repeats \(repeats)", file: file, line: line)

      let P = layer.parameterCount
      guard P > 0 else { continue }
      var gradient = [Double](repeating: 0, count: P)
      theta.withUnsafeBufferPointer { s in
        gradient.withUnsafeMutableBufferPointer { g in
          layer.accumulateParameterGradient(input: input, outputCotangent: cotangent, repeats: repeats, state: s, into: g)
        }
      }
      let part = theta.withUnsafeBufferPointer {
        layer.jacobianPart(input: input, outputCotangent: cotangent, repeats: repeats, state: $0, structured: true)
      }
      XCTAssertEqual(part?.columns, P, file: file, line: line)
      let jacobian = part!.explicitRows(rowCount: rows, repeats: repeats)
      var worstGradient = 0.0, worstJacobian = 0.0
      for p in 0..<P {
        var plus = theta, minus = theta
        plus[p] += h
        minus[p] -= h
        let lp = rowLosses(input, plus), lm = rowLosses(input, minus)
        var total = 0.0
        for r in 0..<rows {
          let fd = (lp[r] - lm[r]) / (2 * h)
          total += fd
          worstJacobian = max(worstJacobian, abs(fd - jacobian[r * P + p]) / (1 + abs(fd)))
        }
        worstGradient = max(worstGradient, abs(total - gradient[p]) / (1 + abs(total)))
      }
      XCTAssertLessThan(worstGradient, tolerance, "parameter gradient, repeats \(repeats)", file: file, line: line)
      XCTAssertLessThan(worstJacobian, tolerance, "Jacobian rows, repeats \(repeats)", file: file, line: line)
    }
  }

  func testLinear() throws {
    try check(Linear<Double>(5, 4), inputShape: [2, 5])
    try check(Linear<Double>(6, 3, bias: false), inputShape: [3, 6])
  }

  func testConvPlain() throws {
    try check(Conv2d<Double>(3, 4, kernelSize: 3, padding: 1, bias: true), inputShape: [2, 3, 5, 5])
    // "Same" padding, stride 1: the forward pass (and the transposed convolution of the reverse
    // pass) as k² shifted products (`shiftedProductForward`), k = 5 on a non-square image, bias.
    try check(Conv2d<Double>(3, 4, kernelSize: 5, padding: 2, bias: true), inputShape: [2, 3, 6, 7])
    try check(Conv2d<Double>(2, 3, kernelSize: 5, bias: true), inputShape: [2, 2, 7, 6])
    // Stride 1, one group: the input cotangent is the transposed convolution (padding k − 1 − p,
    // here 0 and 1 on a non-square image).
    try check(Conv2d<Double>(2, 3, kernelSize: 3, padding: 2, bias: false), inputShape: [2, 2, 4, 5])
    try check(Conv2d<Double>(3, 2, kernelSize: 2, padding: 0, bias: false), inputShape: [2, 3, 3, 5])
    // Valid convolutions (stride 1, padding 0, W/2 ≤ W' < W): col2im on the input's width
    // (`accumulateWideColumns`), two groups and one; the 2×2 case above too. (The 5×5 one on a
    // 7×6 input, W' = 2, keeps the row-by-row col2im.)
    try check(Conv2d<Double>(4, 6, kernelSize: 3, padding: 0, groups: 2, bias: true), inputShape: [2, 4, 6, 5])
    try check(Conv2d<Double>(2, 3, kernelSize: 3, padding: 0, bias: true), inputShape: [2, 2, 5, 6])
  }

  func testConvStrideGroupsPadding() throws {
    try check(Conv2d<Double>(4, 6, kernelSize: 3, stride: 2, padding: 1, groups: 2, bias: false), inputShape: [2, 4, 6, 5])
    try check(Conv2d<Double>(4, 4, kernelSize: 3, stride: 2, padding: 1, groups: 4, bias: true), inputShape: [2, 4, 5, 5])
    try check(Conv2d<Double>(3, 5, kernelSize: 2, stride: 2, padding: 0, bias: true), inputShape: [2, 3, 5, 4])
  }

  func testConvPointwise() throws {
    try check(Conv2d<Double>(3, 5, kernelSize: 1, bias: true), inputShape: [2, 3, 3, 4])
    try check(Conv2d<Double>(4, 2, kernelSize: 1, stride: 2, bias: false), inputShape: [2, 4, 5, 5])
  }

  func testActivations() throws {
    try check(ReLU<Double>(), inputShape: [2, 3, 4, 4])
    try check(Tanh<Double>(), inputShape: [3, 7])
  }

  func testPools() throws {
    try check(MaxPool2d<Double>(2), inputShape: [2, 3, 6, 6])
    try check(MaxPool2d<Double>(2), inputShape: [2, 2, 7, 5])
    try check(AvgPool2d<Double>(2), inputShape: [2, 3, 6, 6])
    try check(AvgPool2d<Double>(3), inputShape: [2, 2, 7, 6])
    try check(AvgPool2d<Double>(1), inputShape: [2, 2, 3, 3])
    try check(GlobalAvgPool2d<Double>(), inputShape: [2, 3, 4, 5])
  }

  func testBatchNorm() throws {
    var random = TestRandom(seed: 7)
    let weight = random.values(3, 0.5, 1.5), bias = random.values(3, -0.5, 0.5)
    let mean = random.values(3, -0.3, 0.3), variance = random.values(3, 0.5, 1.5)
    try check(BatchNorm2d<Double>(3), inputShape: [2, 3, 4, 3], state: weight + bias + mean + variance)
  }

  func testFlatten() throws {
    try check(Flatten<Double>(), inputShape: [2, 3, 2, 2])
  }

  func testForwardValuesConv() throws {
    // A hand-computable case: 1 channel 3×3 input, 2×2 kernel of ones, stride 1, bias 0.5.
    let conv = Conv2d<Double>(1, 1, kernelSize: 2, bias: true)
    let x = Tensor<Double>(shape: [1, 1, 3, 3], storage: [1, 2, 3, 4, 5, 6, 7, 8, 9])
    let y = [1, 1, 1, 1, 0.5].withUnsafeBufferPointer { conv.forward(x, state: $0) }
    XCTAssertEqual(y.shape, [1, 1, 2, 2])
    XCTAssertEqual(y.storage, [12.5, 16.5, 24.5, 28.5])
    let bn = BatchNorm2d<Double>(1)
    let z = [2.0, 1.0, 3.0, 4.0 - 1e-5].withUnsafeBufferPointer { bn.forward(x, state: $0) }
    XCTAssertEqual(z.storage[0], (1 - 3) / 2 * 2 + 1, accuracy: 1e-12)
    let pool = MaxPool2d<Double>(2)
    XCTAssertEqual([Double]().withUnsafeBufferPointer { pool.forward(x, state: $0) }.storage, [5])
  }
}
