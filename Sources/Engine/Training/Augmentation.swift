#if canImport(Glibc)
import Glibc
#endif

/// The per-epoch random augmentation of the original tool's training images (ntk.md, "Training"),
/// applied to preprocessed `[3, 32, 32]` images, in this order:
///
/// 1. rotation by an angle uniform in `[−rotationDegrees, rotationDegrees]` about the image centre
///    (15.5, 15.5), bilinear, outside pixels = `fill` (MNIST family);
/// 2. random crop of 32 × 32 from the image padded by `cropPadding` pixels of `fill` on each side
///    (offsets uniform in `0…2·padding` per axis);
/// 3. horizontal flip with probability ½ (cifar10, svhn).
///
/// The images arrive already normalised, so the padding value is `fill_c`, the normalised value
/// of a zero pixel (`−mean_c/std_c` for cifar10, 0 for the [0, 1]-scaled MNIST family and svhn).
/// Crop, flip and bilinear rotation are affine in the pixel values with weights summing to 1, so
/// augmenting the normalised image this way equals augmenting the raw image with zero fill and
/// then normalising. One deviation from torchvision for the MNIST family: the rotation is applied
/// to the 32 × 32 resized image rather than to the 28 × 28 original before the resize.
///
/// Randomness comes only from the `SplitMix64` passed in: per image, the angle (if rotating),
/// the two crop offsets, then the flip (if flipping).
public struct Augmentation: Equatable, Sendable {
  /// Largest rotation angle in degrees (0: no rotation).
  public var rotationDegrees: Double
  /// Crop padding in pixels (0: no crop).
  public var cropPadding: Int
  /// Whether to flip horizontally with probability ½.
  public var horizontalFlip: Bool
  /// Per channel, the value standing for a zero pixel (`[3]`).
  public var fill: [Double]

  public init(rotationDegrees: Double, cropPadding: Int, horizontalFlip: Bool, fill: [Double] = [0, 0, 0]) {
    self.rotationDegrees = rotationDegrees
    self.cropPadding = cropPadding
    self.horizontalFlip = horizontalFlip
    self.fill = fill
  }

  /// No augmentation (e.g. a preprocessed `npy` dataset, whose origin is unknown).
  public static let none = Augmentation(rotationDegrees: 0, cropPadding: 0, horizontalFlip: false)

  /// Gathers images `indices` of `images` (`[N, 3, 32, 32]`) into a batch `[indices.count, 3, 32, 32]`,
  /// each augmented with fresh draws from `generator`.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func batch<T: BLASScalar>(_ images: Tensor<T>, indices: ArraySlice<Int>, generator: inout SplitMix64) -> Tensor<T> {
    let size = images.sampleSize
    var batch = Tensor<T>(zeros: [indices.count] + images.sampleShape)
    images.storage.withUnsafeBufferPointer { source in
      batch.storage.withUnsafeMutableBufferPointer { target in
        for (slot, index) in indices.enumerated() {
          apply(source: source.baseAddress! + index * size, target: target.baseAddress! + slot * size,
                channels: images.shape[1], side: images.shape[2], generator: &generator)
        }
      }
    }
    return batch
  }

  /// Augments one image `[channels, side, side]` from `source` into `target`.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  func apply<T: BLASScalar>(
    source: UnsafePointer<T>, target: UnsafeMutablePointer<T>, channels: Int, side: Int, generator: inout SplitMix64
  ) {
    let angle = rotationDegrees > 0 ? generator.nextUniform(-rotationDegrees, rotationDegrees) * Double.pi / 180 : 0
    let span = UInt64(2 * cropPadding + 1)
    let dy = cropPadding > 0 ? Int(generator.next() % span) - cropPadding : 0
    let dx = cropPadding > 0 ? Int(generator.next() % span) - cropPadding : 0
    let flip = horizontalFlip && generator.nextUnit() < 0.5
    let (cosine, sine) = (cos(angle), sin(angle))
    let centre = Double(side - 1) / 2
    let plane = side * side
    for c in 0..<channels {
      let image = source + c * plane
      let out = target + c * plane
      let fillValue = T(fill[c])
      for i in 0..<side {
        for j in 0..<side {
          // Output (i, j) ← cropped (i, j') ← rotated (i + dy, j' + dx) ← source by inverse rotation.
          let jj = flip ? side - 1 - j : j
          let (y, x) = (i + dy, jj + dx)
          guard y >= 0, y < side, x >= 0, x < side else {
            out[i * side + j] = fillValue
            continue
          }
          if angle == 0 {
            out[i * side + j] = image[y * side + x]
            continue
          }
          let (u, v) = (Double(x) - centre, Double(y) - centre)
          let sx = cosine * u + sine * v + centre
          let sy = -sine * u + cosine * v + centre
          out[i * side + j] = T(bilinear(image, side: side, y: sy, x: sx, fill: fill[c]))
        }
      }
    }
  }

  /// Bilinear interpolation at `(y, x)`, neighbours outside the image taking the value `fill`.
  private func bilinear<T: BLASScalar>(_ image: UnsafePointer<T>, side: Int, y: Double, x: Double, fill: Double) -> Double {
    let (y0, x0) = (Int(floor(y)), Int(floor(x)))
    let (wy, wx) = (y - Double(y0), x - Double(x0))
    func pixel(_ r: Int, _ c: Int) -> Double {
      r >= 0 && r < side && c >= 0 && c < side ? Double(image[r * side + c]) : fill
    }
    let top = pixel(y0, x0) * (1 - wx) + pixel(y0, x0 + 1) * wx
    let bottom = pixel(y0 + 1, x0) * (1 - wx) + pixel(y0 + 1, x0 + 1) * wx
    return top * (1 - wy) + bottom * wy
  }
}
