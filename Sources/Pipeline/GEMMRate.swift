import Dispatch
import Engine

/// This machine's measured matrix-multiply speed, for `check`'s time estimates: square GEMMs
/// (`C ← A·B`, side `side`, `2·side³` FLOP each) in precision `T` through OpenBLAS with its
/// current thread count, repeated for at least `seconds`.
public enum GEMMRate {
  /// FLOP per second.
  public static func measure<T: BLASScalar>(_: T.Type, side: Int = 1024, seconds: Double = 0.25) -> Double {
    var a = [T](repeating: 0, count: side * side)
    for i in a.indices { a[i] = T(Double((i * 7919) % 1000) / 1000 - 0.5) }
    let b = a
    var c = [T](repeating: 0, count: side * side)
    let multiply = {
      a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
          c.withUnsafeMutableBufferPointer { pc in
            T.gemm(transposeA: false, transposeB: false, m: side, n: side, k: side, alpha: 1, a: pa.baseAddress!, lda: side,
                   b: pb.baseAddress!, ldb: side, beta: 0, c: pc.baseAddress!, ldc: side)
          }
        }
      }
    }
    multiply()  // warm-up: thread start, page faults
    var runs = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var elapsed = 0.0
    repeat {
      multiply()
      runs += 1
      elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    } while elapsed < seconds
    return 2 * Double(side * side * side) * Double(runs) / elapsed
  }
}
