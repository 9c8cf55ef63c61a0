import Synchronization

/// Buffers of one reverse pass handed back for reuse: each layer's output cotangents
/// `[R, …]` and a convolution's per-core scratch (im2col patches, gathered cotangents) come from
/// the pool, and go back to it once they are consumed, so that the next layer of the same shape
/// writes into pages that are already resident.
///
/// Why: a buffer the allocator returns to the kernel and gets back costs a page fault per 4 KiB
/// page on its first write, about 0.3 s per GiB on the benchmark machine — ten times the cost of
/// writing it. Without reuse, ResNet50 width 16's reverse pass (32 samples) faulted 2.3 GiB of
/// pages for a 1.3 GiB peak: a quarter of its CPU time was the kernel's (`tools/bench`, perf).
///
/// A buffer is reused only for a request of exactly its element count (the shapes of a ResNet
/// stage repeat exactly). The pool holds at most `capacity` scalars; past that, the buffers given
/// back first are released. What it holds is counted by the memory plan
/// (`Model.reversePoolScalarCount(samples:)`, part of `jacobianTransientScalarCount`).
///
/// Buffers smaller than `minimumCount` scalars are neither kept nor looked up. Thread-safe: the
/// cores of a `ParallelRows` loop take and give scratch. One pool per Jacobian block, released
/// with it (`Model.jacobian(inputs:choice:variant:cancellation:)`, `jacobianFactors`).
public final class BufferPool<T: BLASScalar>: Sendable {
  /// Most scalars held at once.
  public let capacity: Int
  /// Buffers of fewer scalars are not pooled.
  public let minimumCount: Int

  private struct Held {
    var buffers: [[T]] = []  // oldest first
    var scalars = 0
    var reused = 0
  }
  private let held = Mutex(Held())

  /// A pool holding at most `capacity` scalars, in buffers of at least `minimumCount` scalars
  /// (default 256 Ki, 1 MiB in float32: `run`'s allocator serves smaller requests from its heap,
  /// whose pages stay resident, `ReturnFreedMemory`).
  public init(capacity: Int, minimumCount: Int = 1 << 18) {
    self.capacity = max(0, capacity)
    self.minimumCount = max(1, minimumCount)
  }

  /// An array of exactly `count` scalars whose contents are unspecified (a buffer given back
  /// earlier, or a new uninitialised one): the caller writes every element before reading it.
  public func take(_ count: Int) -> [T] {
    if count >= minimumCount {
      let reused: [T]? = held.withLock { state in
        guard let index = state.buffers.lastIndex(where: { $0.count == count }) else { return nil }
        state.scalars -= count
        state.reused += 1
        return state.buffers.remove(at: index)
      }
      if let reused { return reused }
    }
    return [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
  }

  /// Gives `buffer` back for a later `take` of the same count. The caller must hold no other
  /// reference to it (one would make the next taker's write copy it first; the results would
  /// still be right). Buffers over the capacity release the oldest held ones.
  public func give(_ buffer: [T]) {
    let count = buffer.count
    guard count >= minimumCount, count <= capacity else { return }
    let released: [[T]] = held.withLock { state in
      var released: [[T]] = []
      while state.scalars + count > capacity, !state.buffers.isEmpty {
        let oldest = state.buffers.removeFirst()
        state.scalars -= oldest.count
        released.append(oldest)
      }
      state.buffers.append(buffer)
      state.scalars += count
      return released
    }
    _ = released  // freed here, outside the lock
  }

  /// Scalars currently held.
  public var heldScalars: Int { held.withLock { $0.scalars } }

  /// How many `take`s were served by a buffer given back earlier.
  public var reusedCount: Int { held.withLock { $0.reused } }
}

extension BufferPool {
  /// `pool.take(count)`, or without a pool a new uninitialised array of `count` scalars.
  static func take(_ count: Int, from pool: BufferPool?) -> [T] {
    pool?.take(count) ?? [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
  }
}
