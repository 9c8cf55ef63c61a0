/// Overflow-checked sizes of arrays described by a file's header (`.npy` shapes, `.safetensors`
/// shapes): a product of dimensions that does not fit `Int` is reported, never trapped on and never
/// wrapped (a shape `[2³², 2³²]` wraps to 0 in unchecked 64-bit arithmetic, which would pass a naive
/// "byte range is empty" check).
public enum ShapeSize {
  /// `∏ shape` (1 for `[]`), or `nil` when a dimension is negative or the product overflows `Int`.
  public static func elementCount(_ shape: [Int]) -> Int? {
    var product = 1
    for dimension in shape {
      guard dimension >= 0 else { return nil }
      let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
      guard !overflow else { return nil }
      product = next
    }
    return product
  }

  /// The shape as people read it, dimensions joined by " × " (`[100, 10, 10]`: "100 × 10 × 10").
  public static func description(_ shape: [Int]) -> String { shape.map(String.init).joined(separator: " × ") }

  /// `∏ shape · elementBytes`, or `nil` when a dimension is negative or the product overflows `Int`.
  public static func byteCount(_ shape: [Int], elementBytes: Int) -> Int? {
    guard let count = elementCount(shape) else { return nil }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: elementBytes)
    return overflow ? nil : bytes
  }
}
