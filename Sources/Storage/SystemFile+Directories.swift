import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

extension SystemFile {
  /// Creates directory `path` with any missing parents, then fsyncs the directory holding it, so
  /// that the new entry survives a crash (the first half of the durability recipe: a file created
  /// inside is made durable by `syncDirectory(path:)` of `path` itself). A path that exists
  /// already, or that another process creates meanwhile, is left alone and nothing is synced.
  ///
  /// - Throws: `StorageError` naming `path`, as `createDirectories(path:)`, or the parent's failed
  ///   `fsync` (`SystemFile.error`).
  public static func createDirectoryDurably(path: String) throws {
    if FileManager.default.fileExists(atPath: path) { return }
    try createDirectories(path: path)
    try syncDirectory(path: AtomicFile.directory(of: path))
  }

  /// Creates directory `path` and its missing parents (`mkdir(2)`, one folder at a time from the
  /// nearest one that exists), so that a failure names the folder that could not be created and
  /// why, in one line. A folder that exists already, or that another process creates meanwhile,
  /// is fine.
  ///
  /// - Throws: `StorageError` naming `path`, one line `cannot create directory: …`:
  ///   (`.destinationExists`) `A is a file, not a directory` when an existing ancestor A (or the
  ///   path itself) is not a directory (a mistyped path, e.g. a manifest's name followed by `/…`);
  ///   (`.unusablePath`, exit 2) when the path cannot hold a folder — permission denied, a
  ///   read-only file system, a folder that does not allow new entries (`/proc`, `/sys`), a name
  ///   too long — naming the folder it was to be created in; (`.ioFailure`, exit 1) when the
  ///   system fails (ENOSPC, EDQUOT, EIO, …: `SystemFile.error`'s wording).
  public static func createDirectories(path: String) throws {
    // The folders to create, innermost first, and the nearest ancestor that exists (symbolic
    // links followed: a linked folder is a folder).
    var missing: [String] = []
    var ancestor = path
    var isDirectory: ObjCBool = false
    while !FileManager.default.fileExists(atPath: ancestor, isDirectory: &isDirectory) {
      missing.append(ancestor)
      let parent = AtomicFile.directory(of: ancestor)
      if parent == ancestor { break }
      ancestor = parent
    }
    if !isDirectory.boolValue, FileManager.default.fileExists(atPath: ancestor) {
      throw StorageError(.destinationExists, path: path, "cannot create directory: \(ancestor) is a file, not a directory")
    }
    for folder in missing.reversed() {
      guard mkdir(folder, 0o777) != 0 else { continue }
      let code = Errno(rawValue: errno)
      var exists: ObjCBool = false
      if code == .fileExists, FileManager.default.fileExists(atPath: folder, isDirectory: &exists) {
        if exists.boolValue { continue }  // created by another process meanwhile
        throw StorageError(.destinationExists, path: path, "cannot create directory: \(folder) is a file, not a directory")
      }
      throw directoryError(code, folder: folder, path: path)
    }
  }

  /// The one-line error for `mkdir(folder)` failing with `code` while creating `path`.
  private static func directoryError(_ code: Errno, folder: String, path: String) -> StorageError {
    let parent = AtomicFile.directory(of: folder)
    let name = AtomicFile.name(of: folder)
    let within = folder == path ? ": " : " \(folder): "
    let reason: String
    switch code {
    case .permissionDenied:
      reason = "permission denied: this user may not create \(name) in \(parent)"
    case .notPermitted:
      reason = "operation not permitted: \(parent) does not allow creating \(name)"
    case .readOnlyFileSystem:
      reason = "\(parent) is on a read-only file system"
    case .noSuchFileOrDirectory:
      // The parent exists (it was found above): a special file system (/proc, /sys) that holds
      // no folders of ours, or a folder removed meanwhile.
      reason = "\(parent) does not allow creating folders in it (mkdir: ENOENT; a system folder such as /proc or /sys, or removed meanwhile)"
    case .fileNameTooLong:
      reason = "the name \(name.prefix(40))\(name.count > 40 ? "…" : "") is too long for the file system"
    case .tooManySymbolicLinkLevels:
      reason = "too many levels of symbolic links in \(parent)"
    case .notDirectory:
      reason = "a component of \(parent) is not a directory"
    default:
      let failure = error(code, "mkdir", path: folder)
      return StorageError(.ioFailure, path: path, "cannot create directory\(within)\(failure.message)")
    }
    return StorageError(.unusablePath, path: path, "cannot create directory\(within)\(reason); choose another path")
  }
}
