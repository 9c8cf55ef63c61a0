import Glibc

/// Makes glibc's allocator return large freed blocks to the kernel at once, so that the resident
/// size follows what the engine holds (the memory plan's model) rather than the allocator's
/// high-water mark.
///
/// glibc serves requests ≥ `M_MMAP_THRESHOLD` by `mmap` and unmaps them on `free`; by default
/// the threshold adapts upwards (to 32 MiB) after large frees, after which tile-sized buffers come
/// from the heap and stay resident. Fixing it at 1 MiB (`mallopt(3)`) turns the adaptation off.
/// `<malloc.h>` is not part of Swift's Glibc module, so `mallopt` is looked up with `dlsym`.
public enum ReturnFreedMemory {
  /// `M_MMAP_THRESHOLD` from `<malloc.h>`.
  private static let mmapThreshold: Int32 = -3

  public static func configure() {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
    _ = mallopt(mmapThreshold, 1 << 20)
  }
}
