import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs code with this process's file size limit (`RLIMIT_FSIZE`, setrlimit(2)) lowered, so a
/// write that would take a file past `bytes` fails part way with `EFBIG` (SIGXFSZ ignored
/// meanwhile): a real I/O failure in the middle of a file, as a full disk's ENOSPC would be.
public enum FileSizeLimit {
  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  /// Runs `body` with `RLIMIT_FSIZE` at `bytes`, then restores the limit and SIGXFSZ's handler.
  public static func with<Result>(bytes: Int, _ body: () throws -> Result) throws -> Result {
    let resource = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
    var saved = rlimit()
    guard getrlimit(resource, &saved) == 0 else { throw Failure(description: "getrlimit(RLIMIT_FSIZE) failed: errno \(errno)") }
    let handler = signal(SIGXFSZ, SIG_IGN)
    defer { signal(SIGXFSZ, handler) }
    var limited = saved
    limited.rlim_cur = rlim_t(bytes)
    guard setrlimit(resource, &limited) == 0 else { throw Failure(description: "setrlimit(RLIMIT_FSIZE, \(bytes)) failed: errno \(errno)") }
    defer { _ = setrlimit(resource, &saved) }
    return try body()
  }
}
