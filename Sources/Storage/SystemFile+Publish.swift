#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Publishing a finished temporary file or directory under a name that must not exist yet, so
/// that of two writers creating the same new output at once exactly one succeeds (a plain
/// `rename(2)` would let the last one silently replace the first).
extension SystemFile {
  /// Gives `source` (a finished temporary file or directory in the same directory) the new name
  /// `destination`, failing if `destination` exists, atomically:
  ///
  /// - a file: `link(2)` to `destination` (`EEXIST` if it exists), then `unlink(2)` of `source`;
  /// - a directory, or a file system without hard links: `renameat2(2)` with `RENAME_NOREPLACE`;
  /// - where neither is supported (`EINVAL`, `ENOSYS`: some network file systems): `rename(2)`
  ///   after checking that `destination` does not exist (exclusive up to that short window).
  ///
  /// The caller syncs the directory afterwards.
  ///
  /// - Throws: `StorageError` (`.destinationExists`) naming `destination` if it exists;
  ///   (`.ioFailure`) for any other failure. `source` is left in place on failure.
  public static func publishExclusively(from source: String, to destination: String) throws {
    if !kind(of: source).isDirectory {
      if Glibc.link(source, destination) == 0 {
        try? remove(path: source)  // published; a temporary name left behind is a leftover `repair` removes
        return
      }
      let code = Errno(rawValue: errno)
      if code == .fileExists { throw exists(destination) }
      guard [.improperLink, .notPermitted, .notSupported, .tooManyLinks].contains(code) else {
        throw error(code, "link to \(destination)", path: source)
      }
    }
    guard renameNoReplace(source, destination) != 0 else { return }
    let code = Errno(rawValue: errno)
    if code == .fileExists || code == .directoryNotEmpty { throw exists(destination) }
    guard code == .invalidArgument || code == .noFunction else {
      throw error(code, "renameat2 (RENAME_NOREPLACE) to \(destination)", path: source)
    }
    if kind(of: destination).exists { throw exists(destination) }
    try rename(from: source, to: destination)
  }

  private static func exists(_ destination: String) -> StorageError {
    StorageError(.destinationExists, path: destination, "created by another process while this one was writing it (it did not exist when this one started); not replaced")
  }

  /// `renameat2(AT_FDCWD, source, AT_FDCWD, destination, RENAME_NOREPLACE)`.
  private static func renameNoReplace(_ source: String, _ destination: String) -> Int32 {
    linux_renameat2(AT_FDCWD, source, AT_FDCWD, destination, 1)  // RENAME_NOREPLACE = 1 << 0
  }
}

/// `int renameat2(int, const char *, int, const char *, unsigned int)` from glibc (≥ 2.28), which
/// the Glibc module does not export without `_GNU_SOURCE`.
@_silgen_name("renameat2")
private func linux_renameat2(_ oldDirectory: Int32, _ old: UnsafePointer<CChar>, _ newDirectory: Int32, _ new: UnsafePointer<CChar>, _ flags: UInt32) -> Int32
