/// A CIFAR-10 binary batch file (`data_batch_1.bin` … `data_batch_5.bin`, "CIFAR-10 binary
/// version", www.cs.toronto.edu/~kriz/cifar.html): records of 3,073 bytes — one label byte
/// (0…9), then 1,024 red, 1,024 green and 1,024 blue bytes, each plane 32×32 row-major.
/// Parsed from bytes already read from disk.
public struct CIFAR10Batch: Equatable, Sendable {
  /// Bytes per record: 1 label + 3·32·32 pixels.
  public static let recordSize = 3073

  /// The raw records, `count · 3073` bytes.
  public let records: [UInt8]

  /// Parses `bytes` (origin `name` for error messages).
  /// Throws `EngineError.malformedDataset` if the size is not a positive multiple of 3,073 bytes
  /// or a label byte exceeds 9 (naming the record).
  public init(bytes: [UInt8], name: String) throws {
    guard !bytes.isEmpty, bytes.count % CIFAR10Batch.recordSize == 0 else {
      throw EngineError(
        .malformedDataset,
        "\(name): \(bytes.count) bytes is not a positive multiple of the 3073-byte CIFAR-10 record (truncated?)")
    }
    for record in 0..<(bytes.count / CIFAR10Batch.recordSize) where bytes[record * CIFAR10Batch.recordSize] > 9 {
      throw EngineError(
        .malformedDataset,
        "\(name): record \(record) has label \(bytes[record * CIFAR10Batch.recordSize]), expected 0...9")
    }
    records = bytes
  }

  /// Number of images.
  public var count: Int { records.count / CIFAR10Batch.recordSize }

  /// The labels (0…9), `[count]`.
  public var labels: [Int] { (0..<count).map { Int(records[$0 * CIFAR10Batch.recordSize]) } }

  /// Per-channel normalisation of the original tool: mean and std of R, G, B.
  public static let mean: [Float] = [0.4914, 0.4822, 0.4465]
  public static let std: [Float] = [0.2023, 0.1994, 0.2010]

  /// Images `range`, transformed as the original tool did: `[count, 3, 32, 32]` with
  /// `(byte/255 − mean_c)/std_c`, computed in float32 (as torchvision `ToTensor` + `Normalize`)
  /// and then converted to `T`. Throws `EngineError.sampleRange` if `range` exceeds `count`.
  public func tensor<T: BLASScalar>(range: Range<Int>, scalar: T.Type = T.self) throws -> Tensor<T> {
    guard range.lowerBound >= 0, range.upperBound <= count else {
      throw EngineError(.sampleRange, "samples \(range) requested from a CIFAR-10 batch of \(count) images")
    }
    let plane = 1024
    var result = Tensor<T>(zeros: [range.count, 3, 32, 32])
    records.withUnsafeBufferPointer { bytes in
      result.storage.withUnsafeMutableBufferPointer { out in
        for (n, index) in range.enumerated() {
          let pixels = bytes.baseAddress! + index * CIFAR10Batch.recordSize + 1
          for c in 0..<3 {
            let (mean, std) = (CIFAR10Batch.mean[c], CIFAR10Batch.std[c])
            for i in 0..<plane {
              let x = Float(pixels[c * plane + i]) / 255
              out[(n * 3 + c) * plane + i] = T((x - mean) / std)
            }
          }
        }
      }
    }
    return result
  }
}
