#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Advisory whole-file locks (`flock(2)`), which the kernel releases when the holder's file is
/// closed or the process exits. They are coherent on one machine only (not across NFS or Lustre
/// clients): callers must not rely on them for correctness across machines (docs/durability.md).
extension SystemFile {
  /// Takes the lock without waiting (`flock` with `LOCK_NB`): exclusive, or shared.
  ///
  /// - Returns: `false` when another open file holds a conflicting lock (`EWOULDBLOCK`).
  /// - Throws: `StorageError` (`.ioFailure`) for any other failure: `flock failed: <strerror> (errno N)`.
  public func tryLock(exclusive: Bool) throws -> Bool {
    guard flock(descriptor.rawValue, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 else {
      let code = Errno(rawValue: errno)
      if code == .wouldBlock { return false }
      throw Self.error(code, "flock", path: path)
    }
    return true
  }

  /// Releases a lock taken by `tryLock` (`flock` with `LOCK_UN`; closing the file also does).
  public func unlock() {
    _ = flock(descriptor.rawValue, LOCK_UN)
  }
}
