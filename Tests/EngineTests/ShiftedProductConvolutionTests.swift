import XCTest

@testable import Engine

/// `Conv2d.shiftedProductForward` (k² GEMMs with shifted views of the zero-padded input) against
/// the batched im2col + GEMM (`im2colForward`) and against the definition, in float64: kernels 3,
/// 5 and 7 with "same" padding, non-square images, images smaller than the kernel, bias and no
/// bias, one and many samples (so that the samples split over the cores), and the channel limit.
final class ShiftedProductConvolutionTests: XCTestCase {
  func check(_ conv: Conv2d<Double>, batch: Int, height: Int, width: Int, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertTrue(conv.isShiftedProductConvolution, "not a shifted-product convolution", file: file, line: line)
    var random = TestRandom(seed: 11)
    let x = random.tensor([batch, conv.inChannels, height, width])
    let state = random.values(conv.stateCount, -1, 1)
    let (shifted, im2col) = state.withUnsafeBufferPointer { s in
      (conv.shiftedProductForward(x, state: s), conv.im2colForward(x, state: s))
    }
    XCTAssertEqual(shifted.shape, [batch, conv.outChannels, height, width], file: file, line: line)
    XCTAssertEqual(shifted.shape, im2col.shape, file: file, line: line)
    XCTAssertLessThan(relativeFrobeniusError(shifted.storage, im2col.storage), 1e-14, file: file, line: line)
    // The definition, for the first and the last sample.
    let (k, p) = (conv.kernelSize, conv.padding)
    for n in [0, batch - 1] {
      for o in 0..<conv.outChannels {
        for i in 0..<height {
          for j in 0..<width {
            var sum = conv.hasBias ? state[conv.weightCount + o] : 0
            for c in 0..<conv.inChannels {
              for u in 0..<k {
                for v in 0..<k {
                  let (y, z) = (i - p + u, j - p + v)
                  guard (0..<height).contains(y), (0..<width).contains(z) else { continue }
                  sum += state[((o * conv.inChannels + c) * k + u) * k + v] * x.storage[((n * conv.inChannels + c) * height + y) * width + z]
                }
              }
            }
            let got = shifted.storage[((n * conv.outChannels + o) * height + i) * width + j]
            XCTAssertEqual(got, sum, accuracy: 1e-12 * (1 + abs(sum)), "n \(n) o \(o) i \(i) j \(j)", file: file, line: line)
          }
        }
      }
    }
  }

  func testAgainstIm2colAndDefinition() {
    check(Conv2d<Double>(3, 4, kernelSize: 3, padding: 1, bias: false), batch: 2, height: 5, width: 7)
    check(Conv2d<Double>(2, 3, kernelSize: 5, padding: 2, bias: true), batch: 3, height: 6, width: 4)
    check(Conv2d<Double>(2, 2, kernelSize: 7, padding: 3, bias: true), batch: 1, height: 2, width: 3)
    check(Conv2d<Double>(4, 2, kernelSize: 3, padding: 1, bias: false), batch: 1, height: 1, width: 1)
    // 64 channels (the limit), 40 samples of 8 × 8: split over the cores.
    check(Conv2d<Double>(64, 8, kernelSize: 3, padding: 1, bias: true), batch: 40, height: 8, width: 8)
  }

  func testWhichConvolutions() {
    XCTAssertTrue(Conv2d<Float>(64, 64, kernelSize: 3, padding: 1, bias: false).isShiftedProductConvolution)
    XCTAssertFalse(Conv2d<Float>(65, 64, kernelSize: 3, padding: 1, bias: false).isShiftedProductConvolution)  // over the limit
    XCTAssertFalse(Conv2d<Float>(16, 16, kernelSize: 3, stride: 2, padding: 1, bias: false).isShiftedProductConvolution)
    XCTAssertFalse(Conv2d<Float>(16, 16, kernelSize: 3, padding: 0, bias: false).isShiftedProductConvolution)  // valid
    XCTAssertFalse(Conv2d<Float>(16, 16, kernelSize: 3, padding: 1, groups: 16, bias: false).isShiftedProductConvolution)
    XCTAssertFalse(Conv2d<Float>(16, 16, kernelSize: 1, bias: false).isShiftedProductConvolution)  // pointwise
  }
}
