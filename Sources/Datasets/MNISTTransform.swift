import Engine
import Storage

/// The MNIST-family preprocessing of the original tool (torchvision `Resize(32)` on a PIL image,
/// `ToTensor()`, channel repeated ×3): `[N, 28, 28]` uint8 → `[N, 3, 32, 32]` in `[0, 1]`.
///
/// The resize is PIL's 8-bit bilinear resampling (Pillow `libImaging/Resample.c`): separable,
/// first along rows (width), then along columns (height); output pixel `o` samples source
/// position `(o + 0.5)·in/out − 0.5` with triangle weights `1 − |Δ|`, normalised, clamped at the
/// borders; weights in fixed point with 22 fractional bits; after each pass the sum is rounded
/// (`+ 2²¹`, `>> 22`) and clipped to 0…255, so the intermediate image is uint8. Then `/255`.
/// Reference: fixtures README §2.
public struct MNISTTransform: Sendable {
  public let sourceSize: Int
  public let targetSize: Int
  /// Per output pixel: first source index and fixed-point weights (shared by both passes).
  private let taps: [(first: Int, weights: [Int64])]

  static let precisionBits = 22

  /// A resize from `sourceSize`² to `targetSize`² pixels (MNIST: 28 → 32).
  public init(sourceSize: Int = 28, targetSize: Int = 32) {
    self.sourceSize = sourceSize
    self.targetSize = targetSize
    taps = MNISTTransform.coefficients(inSize: sourceSize, outSize: targetSize)
  }

  /// Pillow's `precompute_coeffs` for the bilinear filter (support 1) followed by
  /// `normalize_coeffs_8bpc` (round half away from zero to 22 fractional bits).
  static func coefficients(inSize: Int, outSize: Int) -> [(first: Int, weights: [Int64])] {
    let scale = Double(inSize) / Double(outSize)
    let filterScale = max(scale, 1)
    let support = 1.0 * filterScale
    return (0..<outSize).map { o in
      let center = (Double(o) + 0.5) * scale
      let xmin = max(Int(center - support + 0.5), 0)
      let xmax = min(Int(center + support + 0.5), inSize) - xmin
      var w = (0..<xmax).map { x -> Double in
        let t = abs((Double(x + xmin) - center + 0.5) / filterScale)
        return t < 1 ? 1 - t : 0
      }
      let total = w.reduce(0, +)
      if total != 0 { w = w.map { $0 / total } }
      let one = Double(1 << precisionBits)
      let fixed = w.map { Int64($0 < 0 ? -0.5 + $0 * one : 0.5 + $0 * one) }
      return (xmin, fixed)
    }
  }

  /// One pass of the resize over `lines` lines of a uint8 image: `get(line, k)` reads source pixel
  /// `k` of a line, `set(line, o, value)` writes output pixel `o`.
  @inline(__always)
  private func pass(lines: Int, get: (Int, Int) -> UInt8, set: (Int, Int, UInt8) -> Void) {
    let half = Int64(1) << (MNISTTransform.precisionBits - 1)
    for line in 0..<lines {
      for (o, tap) in taps.enumerated() {
        var sum = half
        for (k, weight) in tap.weights.enumerated() { sum += Int64(get(line, tap.first + k)) * weight }
        let value = sum >> Int64(MNISTTransform.precisionBits)
        set(line, o, UInt8(clamping: value))
      }
    }
  }

  /// Resizes one `sourceSize × sourceSize` uint8 image (row-major) to `targetSize × targetSize` uint8.
  public func resize(_ image: UnsafeBufferPointer<UInt8>) -> [UInt8] {
    let (s, t) = (sourceSize, targetSize)
    var horizontal = [UInt8](repeating: 0, count: s * t)  // [s rows, t columns]
    horizontal.withUnsafeMutableBufferPointer { h in
      pass(lines: s, get: { image[$0 * s + $1] }, set: { h[$0 * t + $1] = $2 })
    }
    var output = [UInt8](repeating: 0, count: t * t)
    horizontal.withUnsafeBufferPointer { h in
      output.withUnsafeMutableBufferPointer { out in
        pass(lines: t, get: { h[$1 * t + $0] }, set: { out[$1 * t + $0] = $2 })
      }
    }
    return output
  }

  /// Images `range` of an IDX image file, transformed: `[count, 3, 32, 32]`, values `byte/255`.
  ///
  /// Throws `DatasetError.malformedDataset` if the file holds labels or images of another size,
  /// `DatasetError.sampleRange` if `range` exceeds the file's N.
  public func tensor<T: BLASScalar>(images file: IDXFile, range: Range<Int>, scalar: T.Type = T.self) throws -> Tensor<T> {
    guard file.kind == .images, file.dimensions.count == 3, file.dimensions[1] == sourceSize,
      file.dimensions[2] == sourceSize
    else {
      throw DatasetError(
        .malformedDataset, "IDX file holds \(file.kind) \(file.dimensions), expected images [N, \(sourceSize), \(sourceSize)]")
    }
    guard range.lowerBound >= 0, range.upperBound <= file.count else {
      throw DatasetError(.sampleRange, "samples \(range) requested from an IDX file of \(Plural.count(file.count, "image"))")
    }
    let plane = targetSize * targetSize
    let pixels = sourceSize * sourceSize
    var result = Tensor<T>(zeros: [range.count, 3, targetSize, targetSize])
    file.data.withUnsafeBufferPointer { data in
      result.storage.withUnsafeMutableBufferPointer { out in
        for (n, index) in range.enumerated() {
          let image = UnsafeBufferPointer(rebasing: data[(index * pixels)..<((index + 1) * pixels)])
          let resized = resize(image)
          for channel in 0..<3 {
            let base = (n * 3 + channel) * plane
            // Same rounding as torchvision's ToTensor: float32(byte) / 255 in the target precision.
            for i in 0..<plane { out[base + i] = T(resized[i]) / T(255) }
          }
        }
      }
    }
    return result
  }
}
