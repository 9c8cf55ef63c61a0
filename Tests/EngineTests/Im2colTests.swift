import XCTest

@testable import Engine

/// `Conv2d.writeColumns` (the im2col patch matrix) against its definition
/// `col[(c·k + u)·k + v, i·W' + j] = x[c, s·i − p + u, s·j − p + v]` (0 outside the image),
/// including the one-copy-per-row path for stride 1 and `W' = W` (`writeSameWidthColumns`),
/// written into a wider batched matrix (`rowStride > L`) whose other columns must stay untouched.
final class Im2colTests: XCTestCase {
  func check(_ conv: Conv2d<Double>, height: Int, width: Int, file: StaticString = #filePath, line: UInt = #line) {
    var random = TestRandom(seed: 7)
    let x = random.tensor([1, conv.inChannels, height, width])
    let g = conv.geometry(x)
    let (k, s, p) = (conv.kernelSize, conv.stride, conv.padding)
    let L = g.positions
    let K = conv.inChannels * k * k
    let rowStride = L + 3  // the sample's block of a batched matrix, 3 foreign columns after it
    let sentinel = -99.0
    var target = [Double](repeating: sentinel, count: K * rowStride)
    x.storage.withUnsafeBufferPointer { xs in
      target.withUnsafeMutableBufferPointer { t in
        conv.writeColumns(of: xs.baseAddress!, geometry: g, into: t.baseAddress!, rowStride: rowStride)
      }
    }
    for c in 0..<conv.inChannels {
      for u in 0..<k {
        for v in 0..<k {
          let row = (c * k + u) * k + v
          for i in 0..<g.outHeight {
            for j in 0..<g.outWidth {
              let y = s * i - p + u, z = s * j - p + v
              let expected = (0..<height).contains(y) && (0..<width).contains(z) ? x.storage[(c * height + y) * width + z] : 0
              XCTAssertEqual(target[row * rowStride + i * g.outWidth + j], expected,
                             "c \(c) u \(u) v \(v) i \(i) j \(j)", file: file, line: line)
            }
          }
          for extra in L..<rowStride {
            XCTAssertEqual(target[row * rowStride + extra], sentinel, "row \(row) wrote past its block", file: file, line: line)
          }
        }
      }
    }
  }

  func testSameWidthColumns() {
    // Stride 1, W' = W: the contiguous-copy path, square and non-square, k 3/5/7.
    check(Conv2d<Double>(2, 1, kernelSize: 3, padding: 1, bias: false), height: 5, width: 7)
    check(Conv2d<Double>(3, 1, kernelSize: 5, padding: 2, bias: false), height: 6, width: 4)
    check(Conv2d<Double>(1, 1, kernelSize: 3, padding: 1, bias: false), height: 32, width: 32)
    // Padding wider than the image: rows and columns with no valid entry at all.
    check(Conv2d<Double>(2, 1, kernelSize: 7, padding: 3, bias: false), height: 2, width: 3)
    check(Conv2d<Double>(1, 1, kernelSize: 3, padding: 1, bias: false), height: 1, width: 1)
  }

  func testOtherColumns() {
    // The row-by-row path: stride 2, no padding, W' ≠ W, and pointwise.
    check(Conv2d<Double>(2, 1, kernelSize: 3, stride: 2, padding: 1, bias: false), height: 7, width: 6)
    check(Conv2d<Double>(2, 1, kernelSize: 5, bias: false), height: 9, width: 8)
    check(Conv2d<Double>(3, 1, kernelSize: 3, padding: 2, bias: false), height: 4, width: 5)
    check(Conv2d<Double>(3, 1, kernelSize: 1, bias: false), height: 3, width: 4)
  }
}
