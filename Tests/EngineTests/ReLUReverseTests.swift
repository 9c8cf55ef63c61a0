import XCTest

@testable import Engine

/// ReLU's reverse pass `δ ← δ · [x > 0]` through `BLASScalar.zeroWhereNotPositive` (the bitwise
/// select): bit for bit the plain definition `x > 0 ? δ : +0`, for every kind of input (negative,
/// ±0, NaN, ±∞, subnormal) and every count around the vector width, float32 and float64.
final class ReLUReverseTests: XCTestCase {
  /// The definition, one element at a time.
  private func reference<S: BLASScalar>(_ x: [S], _ d: [S]) -> [S] {
    zip(x, d).map { $0 > 0 ? $1 : 0 }
  }

  private func special<S: BLASScalar>(_: S.Type) -> [S] {
    [-1, 0, -0.0, 2.5, .nan, -.nan, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
     .greatestFiniteMagnitude, -3]
  }

  private func check<S: BLASScalar>(_ type: S.Type, bits: (S) -> UInt64, file: StaticString = #filePath, line: UInt = #line) {
    let values = special(type)
    var random = SplitMix64(seed: 7)
    for count in [0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100] {
      // Every pairing of special x with special δ, then random signs.
      let x = (0..<count).map { i in i < values.count * 2 ? values[i % values.count] : S(Int(random.next() % 201) - 100) }
      let d = (0..<count).map { i in values[(i / values.count + i) % values.count] }
      var result = d
      x.withUnsafeBufferPointer { xs in
        result.withUnsafeMutableBufferPointer { ds in
          if count > 0 { S.zeroWhereNotPositive(xs.baseAddress!, ds.baseAddress!, count: count) }
        }
      }
      let expected = reference(x, d)
      XCTAssertEqual(result.map(bits), expected.map(bits), "count \(count)", file: file, line: line)
    }
  }

  func testZeroWhereNotPositiveIsTheDefinitionBitForBitInFloat32() {
    check(Float.self) { UInt64($0.bitPattern) }
  }

  func testZeroWhereNotPositiveIsTheDefinitionBitForBitInFloat64() {
    check(Double.self) { $0.bitPattern }
  }

  /// Through the layer: rows of 3 repeats per sample read their sample's input.
  func testReLUReverseMasksEachRowByItsSampleInput() {
    let input = Tensor<Float>(shape: [2, 1, 3, 3], storage: [1, -1, 0, 2, -0.5, 3, -2, 4, .nan,
                                                            -1, 1, 1, -1, 0, 5, 6, -7, 8])
    let rows = (0..<(6 * 9)).map { Float($0) + 1 }
    var cotangent = Tensor<Float>(shape: [6, 1, 3, 3], storage: rows)
    let relu = ReLU<Float>()
    let output = relu.forward(input, state: UnsafeBufferPointer(start: nil, count: 0))
    XCTAssertTrue(relu.inputCotangentInPlace(
      input: input, output: output, cotangent: &cotangent, repeats: 3, state: UnsafeBufferPointer(start: nil, count: 0)))
    for r in 0..<6 {
      for i in 0..<9 {
        let x = input.storage[(r / 3) * 9 + i]
        XCTAssertEqual(cotangent.storage[r * 9 + i], x > 0 ? rows[r * 9 + i] : 0, "row \(r), element \(i)")
      }
    }
  }
}
