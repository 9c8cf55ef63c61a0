import Datasets
import XCTest

@testable import Engine

/// The per-dataset augmentations: crops are shifted copies with the normalised-zero fill, flips
/// mirror, rotations keep the centre and the seeded generator alone decides.
final class TrainingAugmentationTests: XCTestCase {
  func image(seed: UInt64) -> Tensor<Double> {
    var random = TestRandom(seed: seed)
    return random.tensor([1, 3, 32, 32], 0.1, 1)
  }

  /// Finds the (dy, dx, flip) that maps `source` to `output`, checking every pixel.
  func matchingShift(_ source: [Double], _ output: [Double], padding: Int, fill: [Double]) -> (Int, Int, Bool)? {
    for flip in [false, true] {
      for dy in -padding...padding {
        for dx in -padding...padding {
          var ok = true
          check: for c in 0..<3 {
            for i in 0..<32 {
              for j in 0..<32 {
                let jj = flip ? 31 - j : j
                let (y, x) = (i + dy, jj + dx)
                let expected = (0..<32).contains(y) && (0..<32).contains(x) ? source[c * 1024 + y * 32 + x] : fill[c]
                if output[c * 1024 + i * 32 + j] != expected { ok = false; break check }
              }
            }
          }
          if ok { return (dy, dx, flip) }
        }
      }
    }
    return nil
  }

  func testCIFARCropAndFlipAreShiftedCopiesWithNormalizedZeroFill() {
    let augmentation = Augmentation.standard(for: .cifar10)
    XCTAssertEqual(augmentation.fill[0], Double(-0.4914 as Float / 0.2023 as Float), accuracy: 1e-6)
    let source = image(seed: 1)
    var generator = SplitMix64(seed: 42)
    var seen = Set<String>()
    for _ in 0..<40 {
      let output = augmentation.batch(source, indices: [0], generator: &generator)
      guard let (dy, dx, flip) = matchingShift(source.storage, output.storage, padding: 4, fill: augmentation.fill) else {
        return XCTFail("augmented image is not a padded crop (+ flip) of the source")
      }
      seen.insert("\(dy),\(dx),\(flip)")
    }
    XCTAssertGreaterThan(seen.count, 20, "crops and flips should vary")
    XCTAssertTrue(seen.contains { $0.hasSuffix("true") } && seen.contains { $0.hasSuffix("false") })
  }

  func testSameSeedSameBatchDifferentSeedDifferentBatch() {
    let source = Tensor<Double>(shape: [2, 3, 32, 32], storage: image(seed: 1).storage + image(seed: 2).storage)
    for kind in DatasetKind.allCases {
      let augmentation = Augmentation.standard(for: kind)
      var a = SplitMix64(seed: 7), b = SplitMix64(seed: 7), c = SplitMix64(seed: 8)
      let first = augmentation.batch(source, indices: [1, 0], generator: &a)
      XCTAssertEqual(first.storage, augmentation.batch(source, indices: [1, 0], generator: &b).storage, "\(kind)")
      XCTAssertEqual(a, b)
      XCTAssertNotEqual(first.storage, augmentation.batch(source, indices: [1, 0], generator: &c).storage, "\(kind)")
    }
  }

  /// A rotation without crop keeps the centre pixel's neighbourhood average and moves a bright
  /// off-centre dot along a circle about the centre.
  func testRotationMovesAPointAlongACircle() {
    let rotation = Augmentation(rotationDegrees: 20, cropPadding: 0, horizontalFlip: false)
    var source = Tensor<Double>(zeros: [1, 3, 32, 32])
    for c in 0..<3 { source.storage[c * 1024 + 15 * 32 + 27] = 1 }  // 11.5 px right of the centre (15.5, 15.5)
    var generator = SplitMix64(seed: 3)
    var angles: [Double] = []
    for _ in 0..<20 {
      let out = rotation.batch(source, indices: [0], generator: &generator).storage
      var (mass, my, mx) = (0.0, 0.0, 0.0)
      for i in 0..<32 { for j in 0..<32 { let v = out[i * 32 + j]; mass += v; my += v * Double(i); mx += v * Double(j) } }
      XCTAssertEqual(mass, 1, accuracy: 0.05, "bilinear rotation keeps the mass of an interior dot")
      let (y, x) = (my / mass - 15.5, mx / mass - 15.5)
      XCTAssertEqual((x * x + y * y).squareRoot(), (11.5 * 11.5 + 0.25).squareRoot(), accuracy: 0.3)
      angles.append(atan2(y, x) * 180 / Double.pi)
    }
    XCTAssertLessThanOrEqual(angles.map(abs).max()!, 20 + 3.5)
    XCTAssertGreaterThan(angles.max()! - angles.min()!, 15, "angles should spread over ±20°")
  }
}
