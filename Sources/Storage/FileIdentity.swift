#if canImport(Glibc)
import Glibc
#endif

/// What `stat(2)` says identifies one version of a file: device, inode, size and modification
/// time (nanoseconds since the epoch). A file replaced by another (a new inode) or rewritten (a
/// new size or mtime) no longer matches an identity taken earlier.
public struct FileIdentity: Codable, Equatable, Sendable {
  /// `st_dev`.
  public var device: UInt64
  /// `st_ino`.
  public var inode: UInt64
  /// `st_size`, bytes.
  public var size: Int64
  /// `st_mtim`, nanoseconds since 1970-01-01 UTC.
  public var modificationNanoseconds: Int64

  public init(device: UInt64, inode: UInt64, size: Int64, modificationNanoseconds: Int64) {
    self.device = device
    self.inode = inode
    self.size = size
    self.modificationNanoseconds = modificationNanoseconds
  }

  /// The identity of the file at `path` (symbolic links followed), or `nil` if it cannot be
  /// `stat`ed.
  public static func of(_ path: String) -> FileIdentity? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return FileIdentity(info)
  }

  /// The identity of the directory entry at `path` itself (`lstat(2)`: a symbolic link is not
  /// followed) and its file type (`st_mode & S_IFMT`), or `nil` if it cannot be `lstat`ed.
  public static func ofEntry(_ path: String) -> (identity: FileIdentity, type: UInt32)? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return (FileIdentity(info), UInt32(info.st_mode & S_IFMT))
  }

  private init(_ info: stat) {
    self.init(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
              modificationNanoseconds: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
  }
}
