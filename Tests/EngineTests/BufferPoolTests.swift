import XCTest

@testable import Engine

/// `BufferPool`: exact-count reuse, the capacity bound, and a reverse pass that draws on it giving
/// the same cotangents, bit for bit, as one that does not.
final class BufferPoolTests: XCTestCase {
  private func address(_ buffer: [Double]) -> UnsafeRawPointer {
    buffer.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) }
  }

  func testTakeReusesOnlyABufferOfTheSameCount() {
    let pool = BufferPool<Double>(capacity: 100, minimumCount: 4)
    var first = pool.take(10)
    first.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = Double(i) } }
    let original = address(first)
    pool.give(first)
    first = []
    XCTAssertEqual(pool.heldScalars, 10)

    let other = pool.take(12)
    XCTAssertEqual(other.count, 12)
    XCTAssertEqual(pool.reusedCount, 0, "a buffer of another count is not reused")
    XCTAssertEqual(pool.heldScalars, 10)

    let again = pool.take(10)
    XCTAssertEqual(again.count, 10)
    XCTAssertEqual(pool.reusedCount, 1)
    XCTAssertEqual(address(again), original, "the buffer given back is the one handed out")
    XCTAssertEqual(pool.heldScalars, 0)
  }

  func testCapacityReleasesTheOldestAndSmallOrHugeBuffersAreNotKept() {
    let pool = BufferPool<Double>(capacity: 25, minimumCount: 4)
    let a = pool.take(10), b = pool.take(10), c = pool.take(10)
    let (addressB, addressC) = (address(b), address(c))
    pool.give(a)
    pool.give(b)
    pool.give(c)  // 30 > 25: a, the oldest, is released
    XCTAssertEqual(pool.heldScalars, 20)
    pool.give(pool.take(3))  // under minimumCount
    pool.give([Double](repeating: 0, count: 26))  // over the capacity
    XCTAssertEqual(pool.heldScalars, 20)
    // The most recently given back first.
    XCTAssertEqual(address(pool.take(10)), addressC)
    XCTAssertEqual(address(pool.take(10)), addressB)
    XCTAssertEqual(pool.reusedCount, 2)
    XCTAssertEqual(pool.heldScalars, 0)
  }

  /// ResNet18 (width 4: residual sums into BatchNorm receivers, strided and 1×1 shortcut
  /// convolutions, the transposed and the col2im reverse) and WRN-28-2 (pre-activation: a residual
  /// sum handed uncopied to a convolution and to the block input) with every buffer pooled: the
  /// cotangents each parameterised layer sees equal those of a pass without a pool, although the
  /// pool handed buffers back out — the ones the test still holds are copied on write, not
  /// overwritten.
  func testReversePassWithAPoolGivesTheSameCotangents() throws {
    for (name, width, layers) in [("resnet18", 4, 41), ("wrn-28-2", 0, 54)] {
      var model = try ModelZoo.make(name: name, width: width, scalar: Double.self)
      model.initialize(seed: 5)
      var random = TestRandom(seed: 6)
      let inputs = random.tensor([2, 3, 32, 32])
      let activations = try model.activations(inputs: inputs)
      let seed = model.logitSeed(samples: 2, variant: .full)

      func cotangents(pool: BufferPool<Double>?) -> [Int: Tensor<Double>] {
        var seen: [Int: Tensor<Double>] = [:]
        _ = model.backpropagate(
          inputs: inputs, activations: activations, seed: seed, repeats: 10, needInputCotangent: false, pool: pool
        ) { index, _, cotangent in seen[index] = cotangent }
        return seen
      }
      let plain = cotangents(pool: nil)
      let pool = BufferPool<Double>(capacity: model.reversePoolScalarCount(samples: 2), minimumCount: 1)
      let pooled = cotangents(pool: pool)

      XCTAssertGreaterThan(pool.reusedCount, 10, "\(name): the pass reused buffers")
      XCTAssertLessThanOrEqual(pool.heldScalars, pool.capacity, name)
      XCTAssertEqual(Set(plain.keys), Set(pooled.keys), name)
      XCTAssertEqual(plain.count, layers, "\(name): every parameterised layer")
      for (index, expected) in plain {
        XCTAssertEqual(pooled[index]!.shape, expected.shape)
        XCTAssertTrue(pooled[index]!.storage == expected.storage, "\(name) node \(index)")
      }
      XCTAssertGreaterThan(plain.values.map { $0.storage.map(abs).max()! }.max()!, 0, name)
    }
  }
}
