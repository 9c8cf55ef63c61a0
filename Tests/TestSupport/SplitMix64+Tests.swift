import Engine

/// Test draws from the engine's seeded generator (`Engine.SplitMix64`, Steele, Lea & Flood,
/// OOPSLA 2014): fuzzers and fault tests use it so every failure reproduces from its seed.
extension SplitMix64 {
  /// A uniform integer in `0 ..< max(bound, 1)` (`next() % bound`; the slight modulo bias is
  /// irrelevant for test mutations).
  public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }

  /// A uniformly chosen element of a non-empty array.
  public mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}
