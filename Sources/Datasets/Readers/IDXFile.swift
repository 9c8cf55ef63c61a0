import Storage

/// An IDX file (the MNIST format of LeCun et al., yann.lecun.com/exdb/mnist): a big-endian
/// header `00 00 08 d` (magic: unsigned-byte data, `d` dimensions), `d` big-endian UInt32 sizes,
/// then the `∏ sizes` data bytes, row-major. Parsed from bytes already read and gunzipped.
///
/// MNIST uses magic `0x00000803` (images `[N, 28, 28]`) and `0x00000801` (labels `[N]`).
public struct IDXFile: Equatable, Sendable {
  /// What the file holds, from its magic number.
  public enum Kind: UInt32, Sendable {
    /// `0x00000801`: a label vector `[N]`.
    case labels = 0x0000_0801
    /// `0x00000803`: an image stack `[N, rows, columns]`.
    case images = 0x0000_0803
  }

  public let kind: Kind
  /// Sizes from the header, outermost first (`[N, 28, 28]` or `[N]`).
  public let dimensions: [Int]
  /// The data bytes, `dimensions.reduce(1, *)` of them, row-major.
  public let data: [UInt8]

  /// The whole file's size in bytes (header + data) that the header at the start of `prefix`
  /// declares, or `nil` while `prefix` is too short to tell; a header whose sizes overflow, or an
  /// unknown magic, declares just its header (so nothing more is ever inflated for it).
  /// Used to bound gunzipping (`Gzip.Limit`).
  public static func declaredByteCount(prefix: [UInt8]) -> Int? {
    guard prefix.count >= 4 else { return nil }
    let magic = prefix[0..<4].reduce(0) { $0 << 8 | UInt32($1) }
    guard let kind = Kind(rawValue: magic) else { return 4 }
    let rank = kind == .images ? 3 : 1
    let headerSize = 4 + 4 * rank
    guard prefix.count >= headerSize else { return nil }
    var total = 1
    for axis in 0..<rank {
      let size = Int(prefix[(4 + 4 * axis)..<(8 + 4 * axis)].reduce(0) { $0 << 8 | UInt32($1) })
      let (product, overflow) = total.multipliedReportingOverflow(by: size)
      guard !overflow else { return headerSize }
      total = product
    }
    let (whole, overflow) = total.addingReportingOverflow(headerSize)
    return overflow ? headerSize : whole
  }

  /// Parses `bytes`, whose origin `name` is used in error messages.
  ///
  /// Throws `DatasetError.malformedDataset` if the magic is neither `0x00000803` nor `0x00000801`,
  /// the header or data is truncated, or the byte count disagrees with the header's sizes.
  public init(bytes: [UInt8], name: String) throws {
    func word(_ offset: Int) -> UInt32 {
      bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }
    guard bytes.count >= 4 else {
      throw DatasetError(.malformedDataset, "\(name): \(Plural.count(bytes.count, "byte")), too short for an IDX header (4-byte magic)")
    }
    let magic = word(0)
    guard let kind = Kind(rawValue: magic) else {
      throw DatasetError(
        .malformedDataset,
        "\(name): IDX magic 0x\(String(magic, radix: 16, uppercase: true)), expected 0x00000803 (images) or 0x00000801 (labels)")
    }
    let rank = kind == .images ? 3 : 1
    let headerSize = 4 + 4 * rank
    guard bytes.count >= headerSize else {
      throw DatasetError(.malformedDataset, "\(name): truncated IDX header: \(Plural.count(bytes.count, "byte")), expected \(headerSize)")
    }
    let dimensions = (0..<rank).map { Int(word(4 + 4 * $0)) }
    let found = bytes.count - headerSize
    // Overflow-checked product: a damaged header may declare sizes whose product exceeds Int.
    let (expected, overflow) = dimensions.reduce((1, false)) { partial, size in
      let (product, overflowed) = partial.0.multipliedReportingOverflow(by: size)
      return (product, partial.1 || overflowed)
    }
    guard !overflow, found == expected else {
      if overflow {
        throw DatasetError(.malformedDataset, "\(name): IDX sizes \(dimensions) are impossible (more data bytes than a file can hold), found \(found)")
      }
      throw DatasetError(
        .malformedDataset,
        "\(name): IDX sizes \(dimensions) need \(expected) data bytes, found \(found)\(found < expected ? " (truncated)" : "")")
    }
    self.kind = kind
    self.dimensions = dimensions
    self.data = Array(bytes[headerSize...])
  }

  /// Number of items N (images or labels).
  public var count: Int { dimensions[0] }

  /// The labels of an `.labels` file as integers (`[N]`).
  /// Throws `DatasetError.malformedDataset` if this is an image file.
  public func labels() throws -> [Int] {
    guard kind == .labels else {
      throw DatasetError(.malformedDataset, "IDX file holds images \(dimensions), expected labels")
    }
    if let bad = data.firstIndex(where: { $0 > 9 }) {
      throw DatasetError(.malformedDataset, "IDX label \(bad) is \(data[bad]), expected a class 0...9")
    }
    return data.map { Int($0) }
  }
}
