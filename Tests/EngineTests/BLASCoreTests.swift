import CBLAS
import XCTest
#if canImport(Glibc)
import Glibc
#endif

@testable import Engine

/// `BLASCore`: on a CPU the kernel lists with AVX2 + FMA (or AVX-512), the engine's BLAS never runs
/// OpenBLAS's `Prescott` fallback, and its products are still right after the core was switched.
final class BLASCoreTests: XCTestCase {
  func testNoPrescottFallbackOnAVXMachines() throws {
    let text = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
    let flagsLine = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("flags") }, "no flags line in /proc/cpuinfo")
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    let name = BLASCore.name
    if flags.contains("avx2") && flags.contains("fma") {
      XCTAssertNotEqual(name.lowercased(), "prescott", "OpenBLAS runs SSE3 kernels on an AVX2 machine (\(BLASCore.summary))")
    }
    if let forced = BLASCore.forced {
      XCTAssertEqual(name.lowercased(), forced.lowercased())
      XCTAssertTrue(["SkylakeX", "Haswell"].contains(forced))
    }
    XCTAssertTrue(BLASCore.summary.hasPrefix("blas_core=\(name)"))
  }

  /// The idle-thread timeout: with no `OPENBLAS_THREAD_TIMEOUT` of the user's, OpenBLAS's own
  /// getter reports the engine's exponent after the first BLAS call, and the restarted thread pool
  /// still computes a product large enough to be split over two threads (float64 ≤ 1e-12 relative
  /// to a plain triple loop).
  func testIdleThreadTimeoutIsShortenedAndThePoolStillComputes() throws {
    BLASCore.ensureSelected()
    guard getenv("OPENBLAS_THREAD_TIMEOUT") == nil else {
      XCTAssertNil(BLASCore.shortenedThreadTimeout, "a user's OPENBLAS_THREAD_TIMEOUT must be kept")
      return
    }
    XCTAssertEqual(BLASCore.shortenedThreadTimeout, BLASCore.threadTimeoutExponent, BLASCore.summary)
    let handle = try XCTUnwrap(dlopen(nil, RTLD_NOW))
    let getter = unsafeBitCast(try XCTUnwrap(dlsym(handle, "openblas_thread_timeout")), to: (@convention(c) () -> Int32).self)
    XCTAssertEqual(Int(getter()), BLASCore.threadTimeoutExponent)
    XCTAssertTrue(BLASCore.summary.hasSuffix("thread_timeout=2^\(BLASCore.threadTimeoutExponent)"), BLASCore.summary)
    let threads = BLASCore.threadCount
    openblas_set_num_threads(2)
    defer { openblas_set_num_threads(Int32(threads)) }
    let m = 300, n = 280, k = 260
    var random = TestRandom(seed: 11)
    let a = random.values(m * k), b = random.values(k * n)
    var c = [Double](repeating: 0, count: m * n)
    Double.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n, beta: 0, c: &c, ldc: n)
    for i in stride(from: 0, to: m, by: 7) {
      for j in stride(from: 0, to: n, by: 5) {
        var exact = 0.0, scale = 0.0
        for p in 0..<k {
          exact += a[i * k + p] * b[p * n + j]
          scale += abs(a[i * k + p] * b[p * n + j])
        }
        XCTAssertEqual(c[i * n + j], exact, accuracy: 1e-12 * scale)
      }
    }
  }

  /// DGEMM and SGEMM on the selected core against a plain triple loop (float64 ≤ 1e-12 relative).
  func testProductsAfterSelection() {
    let m = 67, n = 45, k = 129
    var random = TestRandom(seed: 7)
    let a = random.values(m * k), b = random.values(k * n)
    var c = [Double](repeating: 0, count: m * n)
    a.withUnsafeBufferPointer { x in
      b.withUnsafeBufferPointer { y in
        c.withUnsafeMutableBufferPointer { z in
          Double.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1, a: x.baseAddress!, lda: k,
                      b: y.baseAddress!, ldb: n, beta: 0, c: z.baseAddress!, ldc: n)
        }
      }
    }
    var single = [Float](repeating: 0, count: m * n)
    let af = a.map(Float.init), bf = b.map(Float.init)
    af.withUnsafeBufferPointer { x in
      bf.withUnsafeBufferPointer { y in
        single.withUnsafeMutableBufferPointer { z in
          Float.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1, a: x.baseAddress!, lda: k,
                     b: y.baseAddress!, ldb: n, beta: 0, c: z.baseAddress!, ldc: n)
        }
      }
    }
    for i in 0..<m {
      for j in 0..<n {
        var exact = 0.0, scale = 0.0
        for p in 0..<k {
          exact += a[i * k + p] * b[p * n + j]
          scale += abs(a[i * k + p] * b[p * n + j])
        }
        XCTAssertEqual(c[i * n + j], exact, accuracy: 1e-12 * scale)
        XCTAssertEqual(Double(single[i * n + j]), exact, accuracy: 1e-5 * scale)
      }
    }
  }
}
