#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Writes to standard error and standard output that never stop the process.
///
/// Progress lines and messages of a long run go to streams that may close under it: `ntkbatch run
/// M 2>&1 | tee run.log` in an ssh session loses `tee` on disconnect. With SIGPIPE ignored
/// (`SignalWatch`), a write to a closed pipe fails with `EPIPE`; Foundation's
/// `FileHandle.write(_:)` traps on any write error, so these go through `write(2)` directly
/// (every byte, retrying on `EINTR`) and a failure (`EPIPE`, `EIO`) is dropped: the computation
/// goes on, and what it journals is unaffected.
public enum StandardStream {
  /// Writes `text` (UTF-8) to standard error; errors are ignored.
  public static func error(_ text: String) {
    write(text, to: .standardError)
  }

  /// Writes `text` (UTF-8) to standard output; errors are ignored.
  public static func output(_ text: String) {
    write(text, to: .standardOutput)
  }

  private static func write(_ text: String, to descriptor: FileDescriptor) {
    let bytes = Array(text.utf8)
    guard !bytes.isEmpty else { return }
    _ = bytes.withUnsafeBytes { try? descriptor.writeAll($0) }
  }
}
