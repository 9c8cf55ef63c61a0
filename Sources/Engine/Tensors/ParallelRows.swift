import CBLAS
import Dispatch

/// Runs a loop over independent rows (samples, cotangent rows) on the BLAS threads: the range
/// `0 ..< count` is cut into one contiguous part per OpenBLAS thread, each part runs on its own
/// thread with single-threaded BLAS calls, and the BLAS thread count is restored afterwards.
///
/// For loops of many small GEMMs (a convolution's per-sample im2col + GEMM), where OpenBLAS's own
/// threading spends its time synchronising (`sched_yield`) instead of computing. Each row's result
/// is computed by exactly the same calls as in a sequential loop, so the output does not depend on
/// the split. `body` must write disjoint outputs for disjoint ranges and allocate its own scratch.
enum ParallelRows {
  static func forEach(_ count: Int, _ body: (Range<Int>) -> Void) {
    BLASCore.ensureSelected()
    let threads = Int(openblas_get_num_threads())
    guard threads > 1, count > 1 else {
      body(0..<count)
      return
    }
    let parts = min(threads, count)
    openblas_set_num_threads(1)
    defer { openblas_set_num_threads(Int32(threads)) }
    DispatchQueue.concurrentPerform(iterations: parts) { k in
      body((count * k / parts)..<(count * (k + 1) / parts))
    }
  }
}

extension ParallelRows {
  /// Loops touching fewer scalars than this run on the calling thread: splitting them costs more
  /// (waking a second thread, tens of µs) than it saves.
  static let minimumParallelScalars = 1 << 16

  /// As `forEach(_:_:)` for memory-bound loops without large BLAS calls (elementwise layers,
  /// pooling, im2col, copies): split over the cores only when the loop touches at least
  /// `minimumParallelScalars` scalars (`scalars`, the caller's estimate). Every element is computed
  /// by the same code whatever the split, so results do not depend on it.
  static func forEach(_ count: Int, scalars: Int, _ body: (Range<Int>) -> Void) {
    guard scalars >= minimumParallelScalars else {
      body(0..<count)
      return
    }
    forEach(count, body)
  }
}
