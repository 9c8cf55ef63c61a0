#if canImport(Glibc)
import Glibc
#endif

/// glibc `malloc` settings for the tile computation, applied once per process (`TileSource`
/// triggers it).
///
/// Each layer of the factor phase allocates a fresh `[10·t, C, H, W]` tensor (tens to hundreds
/// of MB). glibc serves blocks above `M_MMAP_THRESHOLD` (at most 32 MiB, however set) with a
/// fresh `mmap` and returns them with `munmap`, so every such tensor is faulted in page by page
/// and zeroed by the kernel again (wrn-28-2, n = 64: 4.7 of 21.7 CPU seconds were system time).
/// With `M_MMAP_MAX = 0` every block comes from the heap, where a freed block is reused by the
/// next layer, and `M_TRIM_THRESHOLD` (1 GiB) and `M_TOP_PAD` (64 MiB) keep the heap's top
/// instead of returning it after each tile. The cost: the heap does not shrink, and holes
/// between live blocks stay resident, so the peak resident size is up to about 9 % higher
/// (README, Performance). Values only: no result depends on where a buffer lives.
enum AllocatorTuning {
  /// Whether the settings were applied (false on a libc without `mallopt`).
  static let applied: Bool = apply()

  /// Makes sure the settings are applied (cheap after the first call).
  @inline(__always)
  static func ensureApplied() { _ = applied }

  /// `<malloc.h>`'s parameter numbers (not in Swift's Glibc module).
  private static let trimThreshold: Int32 = -1, topPad: Int32 = -2, mmapMax: Int32 = -4

  private static func apply() -> Bool {
    // `mallopt` is looked up with `dlsym` (as `BLASCore` does OpenBLAS's hooks): a libc without it
    // is left alone.
    typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "mallopt") else { return false }
    let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
    return mallopt(mmapMax, 0) == 1 && mallopt(trimThreshold, 1 << 30) == 1 && mallopt(topPad, 64 << 20) == 1
  }
}
