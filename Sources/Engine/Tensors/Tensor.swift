/// A dense tensor: a shape plus one contiguous row-major buffer (images are NCHW).
///
/// `shape[0]` is the batch dimension everywhere in the engine: a batch of `N` images is
/// `[N, C, H, W]`, a batch of feature vectors `[N, F]`. `storage.count == shape.reduce(1, *)`.
/// A value type with copy-on-write storage: passing a tensor around never copies its elements.
public struct Tensor<T: BLASScalar> {
  /// Dimensions, outermost first (e.g. `[N, C, H, W]`).
  public private(set) var shape: [Int]
  /// The elements in row-major order, `shape.reduce(1, *)` of them.
  public var storage: [T]

  /// A tensor of `shape` holding `storage` (row-major). `storage.count` must equal the product of `shape`.
  public init(shape: [Int], storage: [T]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
    precondition(storage.count == shape.reduce(1, *), "storage of \(storage.count) elements for shape \(shape)")
    self.shape = shape
    self.storage = storage
  }

  /// A tensor of `shape` filled with zeros.
  public init(zeros shape: [Int]) {
    self.init(shape: shape, storage: [T](repeating: 0, count: shape.reduce(1, *)))
  }

  /// A tensor of `shape` whose elements are not initialised: for outputs every element of which
  /// the caller writes before reading (no zero fill of a buffer about to be overwritten).
  init(uninitialized shape: [Int]) {
    let count = shape.reduce(1, *)
    self.init(shape: shape, storage: [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count })
  }

  /// As `init(uninitialized:)`, the buffer taken from `pool` when one is given (`BufferPool`).
  init(uninitialized shape: [Int], pool: BufferPool<T>?) {
    self.init(shape: shape, storage: BufferPool.take(shape.reduce(1, *), from: pool))
  }

  /// Number of elements.
  public var count: Int { storage.count }

  /// The batch size, `shape[0]`.
  public var batchSize: Int { shape[0] }

  /// The shape of one sample, `shape[1...]`.
  public var sampleShape: [Int] { Array(shape.dropFirst()) }

  /// Elements per sample, the product of `shape[1...]`.
  public var sampleSize: Int { shape.dropFirst().reduce(1, *) }

  /// The same elements under another shape with the same element count (no copy).
  public func reshaped(_ newShape: [Int]) -> Tensor {
    Tensor(shape: newShape, storage: storage)
  }
}

extension Tensor {
  /// The tensor converted element by element to another precision.
  public func converted<U: BLASScalar>(to: U.Type = U.self) -> Tensor<U> {
    Tensor<U>(shape: shape, storage: storage.map { U($0) })
  }
}
