import Storage

/// The SVHN training and test splits (`train_32x32.mat`, `test_32x32.mat`, cropped-digits format)
/// and their preprocessing.
///
/// Source: Netzer et al., "Reading Digits in Natural Images with Unsupervised Feature Learning"
/// (2011); file layout as torchvision's `SVHN` reads it. The MAT-file holds `X`, uint8 with MATLAB
/// dimensions `32 × 32 × 3 × N` (`X[row, col, channel, index]`, column-major), and `y`, `N × 1` with
/// labels 1…10 where 10 stands for the digit 0.
///
/// Preprocessing: image `i` is `X[:, :, :, i]` transposed to `(channel, row, col)`, divided by 255
/// in float32, with no normalisation; label `y mod 10`.
public enum SVHN {
  /// Samples in the training split.
  public static let trainingCount = 73_257
  /// Samples in the test split (`test_32x32.mat`).
  public static let testCount = 26_032
  /// MATLAB dimensions of one image: 32 rows × 32 columns × 3 channels.
  public static let imageDimensions = [32, 32, 3]

  /// Preprocesses the first samples of an SVHN MAT-file's `X` and `y`.
  ///
  /// - Parameters:
  ///   - images: `X`'s bytes in MATLAB column-major order; byte `r + 32·c + 1024·ch + 3072·i` is
  ///     `X[r, c, ch, i]`.
  ///   - dimensions: `X`'s dimensions, which must be `[32, 32, 3, N]`.
  ///   - labels: `y`'s values (`N` of them, each an integer 1…10).
  ///   - limit: keep the first `limit` samples (`nil`: all `N`).
  /// - Returns: `[count, 3, 32, 32]` images in [0, 1] and labels 0…9.
  /// - Throws: `DatasetError(.malformedDataset)` for dimensions other than `32 × 32 × 3 × N`, a byte
  ///   count that disagrees with them, a label count other than `N`, or a label outside 1…10;
  ///   `DatasetError(.sampleRange)` when `limit` exceeds `N`.
  public static func samples(images: [UInt8], dimensions: [Int], labels: [Double], limit: Int? = nil) throws -> DatasetKind.Samples {
    guard dimensions.count == 4 || dimensions.count == 3, Array(dimensions.prefix(3)) == imageDimensions else {
      throw DatasetError(.malformedDataset, "svhn: X has dimensions \(dimensions), expected 32×32×3×N")
    }
    let available = dimensions.count == 4 ? dimensions[3] : 1
    guard images.count == available * 3072 else {
      throw DatasetError(.malformedDataset, "svhn: X holds \(Plural.count(images.count, "byte")), dimensions \(dimensions) need \(available * 3072)")
    }
    guard labels.count == available else {
      throw DatasetError(.malformedDataset, "svhn: y holds \(Plural.count(labels.count, "label")), X holds \(Plural.count(available, "image"))")
    }
    let count = try DatasetKind.sampleCount(available: available, limit: limit, dataset: "svhn")
    var digits = [Int](repeating: 0, count: count)
    for index in 0..<count {
      let value = labels[index]
      guard value >= 1, value <= 10, value.rounded() == value else {
        throw DatasetError(.malformedDataset, "svhn: y[\(index)] is \(value), expected an integer label 1...10")
      }
      digits[index] = Int(value) % 10
    }
    return DatasetKind.Samples(count: count, images: transpose(images, count: count), labels: digits)
  }

  /// `[count, 3, 32, 32]` floats `X[r, c, ch, i] / 255` from column-major bytes.
  private static func transpose(_ images: [UInt8], count: Int) -> [Float] {
    let plane = 1024
    return [Float](unsafeUninitializedCapacity: count * 3 * plane) { output, initialized in
      images.withUnsafeBufferPointer { input in
        for block in 0..<(count * 3) {
          // One channel of one image: column-major 32×32 in, row-major 32×32 out.
          let source = input.baseAddress! + block * plane
          let target = output.baseAddress! + block * plane
          for row in 0..<32 {
            for column in 0..<32 {
              target[row * 32 + column] = Float(source[row + 32 * column]) / 255
            }
          }
        }
      }
      initialized = count * 3 * plane
    }
  }
}
