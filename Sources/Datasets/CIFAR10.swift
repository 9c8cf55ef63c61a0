import Storage

/// The CIFAR-10 training split, binary version (`cifar-10-batches-bin/data_batch_1.bin` …
/// `data_batch_5.bin`), and its preprocessing.
///
/// Source: Krizhevsky, "Learning Multiple Layers of Features from Tiny Images" (2009), binary
/// format as documented on the dataset page: each record is 3,073 bytes, one label byte 0…9 then
/// the 1,024 red, 1,024 green and 1,024 blue bytes of a 32 × 32 image, rows of 32.
///
/// Preprocessing (torchvision `ToTensor` + `Normalize`), in float32 per channel `c`:
/// `x̂ = (x / 255 − mean_c) / std_c`, mean `(0.4914, 0.4822, 0.4465)`, std `(0.2023, 0.1994, 0.2010)`.
public enum CIFAR10 {
  /// Bytes per record: 1 label + 3 · 32 · 32 pixels.
  public static let recordBytes = 3073
  /// Records in each of the five training batches.
  public static let recordsPerBatch = 10_000
  /// Samples in the training split.
  public static let trainingCount = 50_000
  /// Per-channel mean (R, G, B) of the normalisation.
  public static let mean: [Float] = [0.4914, 0.4822, 0.4465]
  /// Per-channel standard deviation (R, G, B) of the normalisation.
  public static let std: [Float] = [0.2023, 0.1994, 0.2010]

  /// Preprocesses the first samples of the training batches, concatenated in order.
  ///
  /// - Parameters:
  ///   - batches: each batch file's bytes (a whole number of 3,073-byte records) with its name for
  ///     messages, in file order.
  ///   - limit: keep the first `limit` samples across the batches (`nil`: all of them); later
  ///     batches are then not decoded but still size-checked.
  /// - Returns: `[count, 3, 32, 32]` normalised images and labels 0…9.
  /// - Throws: `DatasetError(.malformedDataset)` naming the batch for a size that is not a multiple
  ///   of 3,073 bytes (truncated or oversized file) or a label byte above 9;
  ///   `DatasetError(.sampleRange)` when `limit` exceeds the number of records.
  public static func samples(batches: [(name: String, bytes: [UInt8])], limit: Int? = nil) throws -> DatasetKind.Samples {
    for batch in batches where batch.bytes.count % recordBytes != 0 {
      throw DatasetError(.malformedDataset, "cifar10: \(batch.name) holds \(Plural.count(batch.bytes.count, "byte")), not a whole number of \(recordBytes)-byte records")
    }
    let available = batches.reduce(0) { $0 + $1.bytes.count / recordBytes }
    let count = try DatasetKind.sampleCount(available: available, limit: limit, dataset: "cifar10")
    var images = [Float](repeating: 0, count: count * DatasetKind.Samples.imageElements)
    var labels = [Int](repeating: 0, count: count)
    var done = 0
    for batch in batches where done < count {
      let take = min(batch.bytes.count / recordBytes, count - done)
      try decode(batch.bytes, name: batch.name, records: take, into: &images, labels: &labels, at: done)
      done += take
    }
    return DatasetKind.Samples(count: count, images: images, labels: labels)
  }

  /// Decodes `records` records of `bytes` into samples `first ..< first + records`.
  private static func decode(_ bytes: [UInt8], name: String, records: Int, into images: inout [Float], labels: inout [Int], at first: Int) throws {
    let plane = 1024
    try bytes.withUnsafeBufferPointer { input in
      try images.withUnsafeMutableBufferPointer { output in
        for record in 0..<records {
          let source = input.baseAddress! + record * recordBytes
          guard source[0] <= 9 else {
            throw DatasetError(.malformedDataset, "cifar10: \(name) record \(record) has label \(source[0]), expected 0...9")
          }
          labels[first + record] = Int(source[0])
          let target = output.baseAddress! + (first + record) * 3 * plane
          for channel in 0..<3 {
            let mean = Self.mean[channel], std = Self.std[channel]
            let pixels = source + 1 + channel * plane
            let values = target + channel * plane
            for index in 0..<plane {
              values[index] = (Float(pixels[index]) / 255 - mean) / std
            }
          }
        }
      }
    }
  }
}
