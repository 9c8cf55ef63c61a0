#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// The directory-tree calls `assemble` needs (Zarr arrays are directories of chunk files):
/// `mkdir`, `rmdir`, `link`, `fallocate`, `syncfs`, recursive removal, and whether a process is alive.
/// Failures are `StorageError`s (`.ioFailure`) naming the path, call and errno, as in `SystemFile`.
extension SystemFile {
  /// Creates directory `path` (`mkdir(2)`, mode 0755); an existing directory is not an error.
  public static func makeDirectory(path: String) throws {
    guard mkdir(path, 0o755) == 0 else {
      let code = Errno(rawValue: errno)
      if code == .fileExists { return }
      throw error(code, "mkdir", path: path)
    }
  }

  /// Removes directory `path` if it is empty (`rmdir(2)`).
  ///
  /// - Returns: `true` if it was removed; `false` when it is not empty (`ENOTEMPTY`, `EEXIST`) or
  ///   already gone (`ENOENT`), which are not errors.
  /// - Throws: `StorageError` (`.ioFailure`) for any other failure.
  @discardableResult
  public static func removeDirectoryIfEmpty(path: String) throws -> Bool {
    guard rmdir(path) == 0 else {
      let code = Errno(rawValue: errno)
      if [.directoryNotEmpty, .fileExists, .noSuchFileOrDirectory].contains(code) { return false }
      throw error(code, "rmdir", path: path)
    }
    return true
  }

  /// Makes `destination` a new hard link to `source` (`link(2)`).
  ///
  /// - Returns: `false` when the file system cannot link them (`EXDEV`: another file system;
  ///   `EPERM`/`EOPNOTSUPP`/`EMLINK`: links not supported or too many), so the caller copies.
  /// - Throws: `StorageError` (`.ioFailure`) for any other failure.
  public static func link(from source: String, to destination: String) throws -> Bool {
    guard Glibc.link(source, destination) == 0 else {
      let code = Errno(rawValue: errno)
      if [.improperLink, .notPermitted, .notSupported, .tooManyLinks].contains(code) { return false }
      throw error(code, "link to \(destination)", path: source)
    }
    return true
  }

  /// Reserves `byteCount` bytes of disk for the file (`posix_fallocate(3)`), so a full disk fails
  /// at once and the file's blocks are allocated contiguously; file systems without support
  /// (`EOPNOTSUPP`, `EINVAL`) are ignored.
  public func allocate(byteCount: Int64) throws {
    guard byteCount > 0 else { return }
    let code = posix_fallocate(descriptor.rawValue, 0, off_t(byteCount))
    if code == 0 || code == EOPNOTSUPP || code == EINVAL { return }
    throw Self.error(Errno(rawValue: code), "fallocate of \(Plural.count(byteCount, "byte"))", path: path)
  }

  /// Flushes the whole file system holding `path` to stable storage (`syncfs(2)`): one call
  /// instead of an `fsync` per file when thousands of new files (Zarr chunks) must be durable.
  public static func syncFileSystem(path: String) throws {
    let directory = try openDirectory(path: path)
    defer { try? directory.close() }
    guard linux_syncfs(directory.descriptor.rawValue) == 0 else {
      throw error(Errno(rawValue: errno), "syncfs", path: path)
    }
  }

  /// Removes `path` and, if it is a directory, everything below it (`unlink`/`rmdir`, no
  /// symlinks followed); a missing path is not an error.
  public static func removeTree(path: String) throws {
    var info = stat()
    guard lstat(path, &info) == 0 else {
      let code = Errno(rawValue: errno)
      if code == .noSuchFileOrDirectory { return }
      throw error(code, "lstat", path: path)
    }
    if (info.st_mode & S_IFMT) == S_IFDIR {
      guard let stream = opendir(path) else { throw error(Errno(rawValue: errno), "opendir", path: path) }
      var names: [String] = []
      while let entry = readdir(stream) {
        let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
          pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
      }
      closedir(stream)
      for name in names { try removeTree(path: path + "/" + name) }
      guard rmdir(path) == 0 else {
        let code = Errno(rawValue: errno)
        if code == .noSuchFileOrDirectory { return }
        throw error(code, "rmdir", path: path)
      }
    } else {
      try remove(path: path, ignoreMissing: true)
    }
  }

  /// Whether `path` exists, and whether it is a directory (`lstat(2)`).
  public static func kind(of path: String) -> (exists: Bool, isDirectory: Bool) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return (false, false) }
    return (true, (info.st_mode & S_IFMT) == S_IFDIR)
  }

  /// Whether `path` is, after following symbolic links, a regular file (`stat(2)`): not a FIFO,
  /// socket, device or directory.
  public static func isRegularFile(_ path: String) -> Bool {
    var info = stat()
    guard stat(path, &info) == 0 else { return false }
    return (info.st_mode & S_IFMT) == S_IFREG
  }

  /// Whether a process `pid` that may be an ntkbatch writer exists on this machine: it exists
  /// (`kill(pid, 0)`; `EPERM` means it exists) and its name (`/proc/PID/comm`, proc(5); when
  /// unreadable, any process counts) starts with `ntkbatch` — the tool, its benchmark, its test
  /// runner — so that a temporary file whose writer's pid was reused by an unrelated process is
  /// still seen as left behind.
  public static func ntkbatchProcessExists(_ pid: Int32) -> Bool {
    guard pid > 0 else { return false }
    guard kill(pid, 0) == 0 || errno == EPERM else { return false }
    guard let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) else { return true }
    return comm.hasPrefix("ntkbatch")
  }
}

/// `int syncfs(int fd)` from glibc (Linux ≥ 2.6.39), which the Glibc module does not export
/// without `_GNU_SOURCE`; a plain C function of one `int` returning `int`.
@_silgen_name("syncfs")
private func linux_syncfs(_ descriptor: Int32) -> Int32
