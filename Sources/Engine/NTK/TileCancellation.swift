#if canImport(Glibc)
import Glibc
#endif

/// A request to abandon the tile in progress, set from another thread (the signal watcher) and
/// checked by `TileSource` between layers of the forward and reverse passes and between the
/// BLAS calls of the contraction. A cancelled tile throws `EngineError(.cancelled)`; it is never
/// stored or journaled.
public final class TileCancellation: @unchecked Sendable {
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private var cancelled = false

  public init() {
    pthread_mutex_init(mutex, nil)
  }

  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
  }

  /// Requests cancellation (idempotent, from any thread).
  public func cancel() {
    pthread_mutex_lock(mutex)
    cancelled = true
    pthread_mutex_unlock(mutex)
  }

  /// Whether cancellation was requested.
  public var isCancelled: Bool {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return cancelled
  }

  /// Throws `EngineError(.cancelled)` if cancellation was requested.
  public func check() throws {
    if isCancelled { throw EngineError(.cancelled, "the tile in progress was abandoned (stop requested)") }
  }
}
