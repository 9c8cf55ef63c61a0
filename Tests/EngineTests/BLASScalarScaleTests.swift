import XCTest

@testable import Engine

/// `BLASScalar.scale` (BatchNorm's reverse pass, a tile's normalization): bit for bit the plain
/// `v *= factor` per element, NaN and ±∞ propagated — also for a factor of 0, where `cblas_?scal`
/// of OpenBLAS before 0.3.27 writes zeros instead of NaN — for every count around the vector
/// width, float32 and float64.
final class BLASScalarScaleTests: XCTestCase {
  private func check<S: BLASScalar>(_: S.Type, bits: (S) -> UInt64, file: StaticString = #filePath, line: UInt = #line) {
    let special: [S] = [-1, 0, -0.0, 2.5, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -3]
    var random = SplitMix64(seed: 11)
    for factor: S in [0, -0.0, 1, -1.5, 3.0e-3, .infinity, .nan, .greatestFiniteMagnitude] {
      for count in [0, 1, 7, 8, 9, 15, 16, 17, 33, 100] {
        let values = (0..<count).map { i in i < special.count ? special[i] : S(Int(random.next() % 2001) - 1000) / 7 }
        var result = values
        result.withUnsafeMutableBufferPointer { v in
          if count > 0 { S.scale(v.baseAddress!, by: factor, count: count) }
        }
        let expected = values.map { $0 * factor }
        XCTAssertEqual(result.map(bits), expected.map(bits), "factor \(factor), count \(count)", file: file, line: line)
        if count > 4 { XCTAssertTrue(result[4].isNaN, "NaN · \(factor) stays NaN", file: file, line: line) }
      }
    }
  }

  func testScaleIsElementwiseMultiplicationBitForBitInFloat32() {
    check(Float.self) { UInt64($0.bitPattern) }
  }

  func testScaleIsElementwiseMultiplicationBitForBitInFloat64() {
    check(Double.self) { $0.bitPattern }
  }
}
