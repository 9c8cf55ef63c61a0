#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Storage

/// One writer per run directory (`RUN/lock`) or per shard (`RUN/lock.shard-K-of-N`): an exclusive
/// `flock(2)` on the lock file, which holds `"<pid> <host>\n"` of the holder.
///
/// `flock` locks belong to the open file and are released by the kernel when the holder exits or
/// is killed, so a lock left by a dead process is simply free: the next writer takes it over and
/// rewrites the holder line. A second writer is refused at once (non-blocking), naming the holder.
/// This is a same-machine guard, not what correctness rests on: on network file systems where
/// `flock` is not coherent across hosts, two copies of a shard may both run; their segments have
/// distinct names and their records are duplicates, which every reader tolerates (docs/durability.md).
public final class RunLock {
  /// The lock file.
  public let path: String
  private let file: SystemFile
  private var released = false

  private init(path: String, file: SystemFile) {
    self.path = path
    self.file = file
  }

  deinit { release() }

  /// Takes the exclusive lock at `path` (creating the file) and records this process as holder.
  ///
  /// - Throws: `CheckpointError` (`.locked`) naming the holder's pid and host when another open
  ///   file holds it; (`.failure`) on I/O errors.
  ///   `role` names what is locked in that message (default "the run directory").
  public static func acquire(path: String, role: String = "the run directory") throws -> RunLock {
    let file = try CheckpointError.wrapping { try SystemFile.openForUpdate(path: path, create: true) }
    let acquired: Bool
    do { acquired = try file.tryLock(exclusive: true) } catch let error as StorageError {
      try? file.close()
      throw CheckpointError(error)
    }
    if !acquired {
      let holder = (try? file.readAll()).map { String(decoding: $0, as: UTF8.self) } ?? ""
      try? file.close()
      throw CheckpointError(.locked, "\(path): \(role) is in use by \(describe(holder: holder)); only one writer at a time")
    }
    let lock = RunLock(path: path, file: file)
    let line = Array("\(ProcessInfo.processInfo.processIdentifier) \(RunLock.hostName())\n".utf8)
    try CheckpointError.wrapping {
      try file.resize(to: 0)
      try line.withUnsafeBytes { try file.writeAll($0, atOffset: 0) }
      try file.sync()
    }
    return lock
  }

  /// The holder line of a lock currently held by a writer, or `nil` if nobody holds it.
  /// (Probes with a shared non-blocking lock, released at once.)
  public static func currentHolder(path: String) -> String? {
    guard FileManager.default.fileExists(atPath: path), let file = try? SystemFile.openForReading(path: path) else { return nil }
    defer { try? file.close() }
    if (try? file.tryLock(exclusive: false)) == true {
      file.unlock()
      return nil
    }
    return describe(holder: String(decoding: (try? file.readAll()) ?? [], as: UTF8.self))
  }

  /// Releases the lock (the file stays, with the last holder's line).
  public func release() {
    guard !released else { return }
    released = true
    file.unlock()
    try? file.close()
  }

  /// `"pid 1234 on host node7"` from a holder line `"1234 node7"`.
  static func describe(holder line: String) -> String {
    let parts = line.split(whereSeparator: { $0 == " " || $0 == "\n" })
    guard parts.count >= 2, let pid = Int(parts[0]) else { return "another process (holder not recorded yet)" }
    return "pid \(pid) on host \(parts[1])"
  }

  /// This machine's host name (`gethostname(2)`).
  static func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown-host" }
    let name = String(cString: buffer)
    return name.isEmpty ? "unknown-host" : name
  }
}
