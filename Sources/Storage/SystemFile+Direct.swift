#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

extension SystemFile {
  /// The alignment of buffer address, length and file offset that `O_DIRECT` writes get here:
  /// 4096 bytes, a multiple of every common logical block size (open(2), "O_DIRECT").
  public static let directAlignment = 4096

  /// `O_DIRECT` (not exported by Swift's Glibc module): Linux's asm-generic/fcntl.h value, and
  /// arm's and arm64's own (arch/arm*/include/uapi/asm/fcntl.h); nil elsewhere (never used).
  static let directFlag: Int32? = {
    #if os(Linux) && (arch(x86_64) || arch(i386) || arch(riscv64))
    return 0o40000
    #elseif os(Linux) && (arch(arm64) || arch(arm))
    return 0o200000
    #else
    return nil
    #endif
  }()

  /// Turns `O_DIRECT` on or off for this descriptor (`fcntl(F_SETFL)`).
  ///
  /// - Returns: whether the flag now has the value asked; false when turning it on is refused
  ///   (`EINVAL`: a file system without direct I/O, such as tmpfs) or the platform has no flag.
  /// - Throws: `StorageError` (`.ioFailure`) if `fcntl` fails otherwise, or turning it off fails.
  public func setDirect(_ on: Bool) throws -> Bool {
    guard let flag = Self.directFlag else { return !on }
    let fd = descriptor.rawValue
    let flags = fcntl(fd, F_GETFL)
    if flags < 0 { throw Self.error(Errno(rawValue: errno), "fcntl(F_GETFL)", path: path) }
    if fcntl(fd, F_SETFL, on ? flags | flag : flags & ~flag) < 0 {
      let code = Errno(rawValue: errno)
      if on && code == .invalidArgument { return false }
      throw Self.error(code, "fcntl(F_SETFL)", path: path)
    }
    return true
  }
}
