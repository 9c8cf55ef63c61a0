import Storage

extension DatasetKind {
  /// Preprocessed samples of a dataset split, in file order.
  ///
  /// `images` is `[count, 3, 32, 32]` float32, C order (CHW per image), after the dataset's
  /// preprocessing; `labels` holds the `count` class indices 0…9.
  public struct Samples: Sendable, Equatable {
    /// Number of samples.
    public var count: Int
    /// `[count, 3, 32, 32]` preprocessed images.
    public var images: [Float]
    /// `count` labels in 0…9.
    public var labels: [Int]

    /// Floats per image: 3 · 32 · 32.
    public static let imageElements = 3 * 32 * 32

    public init(count: Int, images: [Float], labels: [Int]) {
      self.count = count
      self.images = images
      self.labels = labels
    }

    /// How many samples carry each label 0…9.
    public var labelHistogram: [Int] {
      var histogram = [Int](repeating: 0, count: 10)
      for label in labels where (0..<10).contains(label) { histogram[label] += 1 }
      return histogram
    }
  }

  /// The number of samples to keep: all `available` when `limit` is `nil`, else `limit`. The one
  /// subsample check of every reader (CIFAR-10, SVHN, IDX, `npy`).
  ///
  /// - Parameters:
  ///   - dataset: the dataset's name, naming the split in the message (`"cifar10: subsample of …"`).
  ///   - file: the file whose samples `dataset.subsample` counts (IDX images, an `npy` array), when
  ///     the loader checks it: the message then names the file and the field.
  /// - Throws: `DatasetError(.sampleRange)` when `limit` is negative or exceeds `available`
  ///   (subsample larger than the dataset).
  public static func sampleCount(available: Int, limit: Int?, dataset: String, file: String? = nil) throws -> Int {
    guard let limit else { return available }
    guard limit >= 0, limit <= available else {
      if let file {
        throw DatasetError(.sampleRange, path: file, "dataset.subsample is \(limit) but the file holds only \(Plural.count(available, "sample"))")
      }
      throw DatasetError(.sampleRange, "\(dataset): subsample of \(Plural.count(limit, "sample")) requested, the split holds \(available)")
    }
    return limit
  }
}
