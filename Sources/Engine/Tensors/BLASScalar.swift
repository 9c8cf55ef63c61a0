import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// A floating-point scalar with the CBLAS routines the engine needs (`Float` → `cblas_s*`,
/// `Double` → `cblas_d*`, OpenBLAS).
///
/// All matrices are row-major (`CblasRowMajor`); leading dimensions are in elements.
/// Sizes are passed as `Int` and narrowed to CBLAS's 32-bit `blasint`. Each routine first makes sure
/// `BLASCore`'s one-time kernel selection ran.
public protocol BLASScalar: BinaryFloatingPoint, Sendable {
  /// General matrix product `C ← α·op(A)·op(B) + β·C`, `op(A)` `[m, k]`, `op(B)` `[k, n]`, `C` `[m, n]`
  /// (`cblas_?gemm`).
  static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Self, a: UnsafePointer<Self>, lda: Int,
    b: UnsafePointer<Self>, ldb: Int,
    beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

  /// Symmetric rank-k update of the upper triangle: `C ← α·A·Aᵀ + β·C`, `A` `[n, k]`, `C` `[n, n]`;
  /// only entries `C[i, j]` with `j ≥ i` are written (`cblas_?syrk`, `CblasUpper`, `CblasNoTrans`).
  static func syrkUpper(
    n: Int, k: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
    beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

  /// Matrix-vector product `y ← α·A·x + β·y`, `A` `[m, n]` (leading dimension `lda`), `x` `[n]`,
  /// `y` `[m]`, contiguous vectors (`cblas_?gemv`, `CblasNoTrans`).
  static func gemv(
    m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int, x: UnsafePointer<Self>,
    beta: Self, y: UnsafeMutablePointer<Self>)

  /// `y ← α·x + y` over `n` contiguous elements (`cblas_?axpy`).
  static func axpy(n: Int, alpha: Self, x: UnsafePointer<Self>, y: UnsafeMutablePointer<Self>)

  /// `Σ xᵢ·yᵢ` over `n` contiguous elements (`cblas_?dot`).
  static func dot(n: Int, x: UnsafePointer<Self>, y: UnsafePointer<Self>) -> Self

  /// Hyperbolic tangent (libm `tanh` / `tanhf`).
  static func hyperbolicTangent(_ x: Self) -> Self

  /// `values[i] ← +0` where `!(x[i] > 0)` (x ≤ 0 or NaN), `values[i]` unchanged elsewhere, for
  /// `i < count` (ReLU's reverse pass). Each element is rewritten as its bits AND a mask of all
  /// ones or zeros, a select the compiler vectorises (compare, AND); the plain
  /// `v[i] = x[i] > 0 ? v[i] : 0` compiles to a conditional store per element — LLVM drops the
  /// store of the unchanged value — which neither vectorises nor predicts on random signs: 22×
  /// slower on 16 Mi floats, and 5 % of ResNet50 width 16's CPU time (`perf`, `tools/bench`).
  static func zeroWhereNotPositive(_ x: UnsafePointer<Self>, _ values: UnsafeMutablePointer<Self>, count: Int)

  /// `values[i] ← values[i] · factor` for `i < count` (BatchNorm's reverse pass): one rounding per
  /// element, NaN and ±Inf propagated as by `*=` (unlike `cblas_?scal`, which OpenBLAS before
  /// 0.3.27 turns into a zero fill for a factor of 0). Written for the concrete type so the
  /// compiler vectorises it; the generic `p[i] *= s` in a layer calls `Numeric.*=` through its
  /// protocol witness per element (1–1.6 % of ResNet CPU time, `perf`).
  static func scale(_ values: UnsafeMutablePointer<Self>, by factor: Self, count: Int)
}

@inline(__always) private func blasInt(_ value: Int) -> blasint { blasint(value) }
@inline(__always) private func blasTranspose(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }

extension Float: BLASScalar {
  public static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    BLASCore.ensureSelected()
    cblas_sgemm(
      CblasRowMajor, blasTranspose(transposeA), blasTranspose(transposeB),
      blasInt(m), blasInt(n), blasInt(k), alpha, a, blasInt(lda), b, blasInt(ldb), beta, c, blasInt(ldc))
  }

  public static func syrkUpper(
    n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    BLASCore.ensureSelected()
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, blasInt(n), blasInt(k), alpha, a, blasInt(lda), beta, c, blasInt(ldc))
  }

  public static func gemv(
    m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
    beta: Float, y: UnsafeMutablePointer<Float>
  ) {
    BLASCore.ensureSelected()
    cblas_sgemv(CblasRowMajor, CblasNoTrans, blasInt(m), blasInt(n), alpha, a, blasInt(lda), x, 1, beta, y, 1)
  }

  public static func axpy(n: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
    BLASCore.ensureSelected()
    cblas_saxpy(blasInt(n), alpha, x, 1, y, 1)
  }

  public static func dot(n: Int, x: UnsafePointer<Float>, y: UnsafePointer<Float>) -> Float {
    BLASCore.ensureSelected()
    return cblas_sdot(blasInt(n), x, 1, y, 1)
  }

  public static func hyperbolicTangent(_ x: Float) -> Float { tanhf(x) }

  public static func scale(_ values: UnsafeMutablePointer<Float>, by factor: Float, count: Int) {
    for i in 0..<count { values[i] *= factor }
  }

  public static func zeroWhereNotPositive(_ x: UnsafePointer<Float>, _ values: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
      let mask: UInt32 = x[i] > 0 ? ~0 : 0
      values[i] = Float(bitPattern: values[i].bitPattern & mask)
    }
  }
}

extension Double: BLASScalar {
  public static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
    beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
  ) {
    BLASCore.ensureSelected()
    cblas_dgemm(
      CblasRowMajor, blasTranspose(transposeA), blasTranspose(transposeB),
      blasInt(m), blasInt(n), blasInt(k), alpha, a, blasInt(lda), b, blasInt(ldb), beta, c, blasInt(ldc))
  }

  public static func syrkUpper(
    n: Int, k: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
    beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
  ) {
    BLASCore.ensureSelected()
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, blasInt(n), blasInt(k), alpha, a, blasInt(lda), beta, c, blasInt(ldc))
  }

  public static func gemv(
    m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int, x: UnsafePointer<Double>,
    beta: Double, y: UnsafeMutablePointer<Double>
  ) {
    BLASCore.ensureSelected()
    cblas_dgemv(CblasRowMajor, CblasNoTrans, blasInt(m), blasInt(n), alpha, a, blasInt(lda), x, 1, beta, y, 1)
  }

  public static func axpy(n: Int, alpha: Double, x: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>) {
    BLASCore.ensureSelected()
    cblas_daxpy(blasInt(n), alpha, x, 1, y, 1)
  }

  public static func dot(n: Int, x: UnsafePointer<Double>, y: UnsafePointer<Double>) -> Double {
    BLASCore.ensureSelected()
    return cblas_ddot(blasInt(n), x, 1, y, 1)
  }

  public static func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }

  public static func scale(_ values: UnsafeMutablePointer<Double>, by factor: Double, count: Int) {
    for i in 0..<count { values[i] *= factor }
  }

  public static func zeroWhereNotPositive(_ x: UnsafePointer<Double>, _ values: UnsafeMutablePointer<Double>, count: Int) {
    for i in 0..<count {
      let mask: UInt64 = x[i] > 0 ? ~0 : 0
      values[i] = Double(bitPattern: values[i].bitPattern & mask)
    }
  }
}
