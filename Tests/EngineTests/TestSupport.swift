import Foundation
import XCTest

@testable import Engine

/// Deterministic test data from SplitMix64.
struct TestRandom {
  var generator: SplitMix64
  init(seed: UInt64) { generator = SplitMix64(seed: seed) }
  mutating func values(_ count: Int, _ low: Double = -1, _ high: Double = 1) -> [Double] {
    (0..<count).map { _ in generator.nextUniform(low, high) }
  }
  mutating func tensor(_ shape: [Int], _ low: Double = -1, _ high: Double = 1) -> Engine.Tensor<Double> {
    Engine.Tensor(shape: shape, storage: values(shape.reduce(1, *), low, high))
  }
}

/// `‖a − r‖_F / ‖r‖_F`.
func relativeFrobeniusError<A: BinaryFloatingPoint>(_ a: [A], _ reference: [Double]) -> Double {
  precondition(a.count == reference.count, "\(a.count) vs \(reference.count) values")
  var diff = 0.0, norm = 0.0
  for (x, r) in zip(a, reference) {
    let d = Double(x) - r
    diff += d * d
    norm += r * r
  }
  return (diff / norm).squareRoot()
}
