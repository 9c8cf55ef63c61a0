import Foundation
import Storage

/// The files of one eNTK run:
///
/// ```
/// RUN/
///   manifest.json   the manifest as run (pretty, sorted, defaults filled; hash in the journal header)
///   journal/        segment-000001.log, … (one per session; see `Journal`)
///   objects/ab/cdef…  zstd frames of raw tiles, named by SHA-256 of the raw bytes (see `ObjectStore`)
///   lock            "pid host" of the writer holding flock(LOCK_EX) (see `RunLock`)
///   lock.shard-K-of-N   the same, for the writer of shard K of N
/// ```
public struct RunDirectory: Sendable {
  /// The run directory.
  public let path: String

  public init(path: String) {
    self.path = path
  }

  /// `RUN/manifest.json`.
  public var manifestPath: String { path + "/manifest.json" }

  /// The run directory of `run` and `slurm` without `--run-dir`: the folder of `manifestPath`
  /// when it is a run directory's own `manifest.json` (a `journal/` beside it), so that
  /// `ntkbatch run RUN/manifest.json` resumes RUN; else `runs/<name>` in the current directory.
  /// A symbolic link to such a file counts as the file.
  public static func defaultPath(manifestPath: String, name: String) -> String {
    for path in [manifestPath, URL(fileURLWithPath: manifestPath).resolvingSymlinksInPath().path] {
      let folder = (path as NSString).deletingLastPathComponent
      let candidate = RunDirectory(path: folder.isEmpty ? "." : folder)
      if (path as NSString).lastPathComponent == "manifest.json", SystemFile.kind(of: candidate.journalDirectory).isDirectory {
        return candidate.path
      }
    }
    return "runs/\(name)"
  }
  /// `RUN/journal`.
  public var journalDirectory: String { path + "/journal" }
  /// `RUN/objects`.
  public var objectsDirectory: String { path + "/objects" }
  /// `RUN/lock`.
  public var lockPath: String { path + "/lock" }

  /// The journal.
  public var journal: Journal { Journal(directory: journalDirectory) }
  /// The object store.
  public var objects: ObjectStore { ObjectStore(root: objectsDirectory) }

  /// Names ntkbatch itself writes at the top of a run directory (`lock.*` too).
  static let ownNames: Set<String> = ["journal", "objects", "manifest.json", "lock", "logits.npy", "labels.npy", ColumnsFiles.logitsName, ColumnsFiles.labelsName,
                                       "training", "slurm", DerivedChecksums.fileName, "assembling", "outputs.json"]
  /// Of `ownNames`, the files a run writes whatever is there: a user's file of that name in a
  /// folder without `journal/` and without a mark of a former run is refused, not overwritten.
  static let overwrittenNames: Set<String> = ["manifest.json", "logits.npy", "labels.npy", ColumnsFiles.logitsName, ColumnsFiles.labelsName]
  /// What only a run leaves (its objects, the derived files' checksums every run records, its
  /// outputs record, its training state): beside them, `overwrittenNames` are a former run's.
  static let formerRunMarks: Set<String> = ["objects", DerivedChecksums.fileName, "outputs.json", "training"]

  /// Creates `RUN`, `RUN/journal` and `RUN/objects` if missing (and syncs the new entries).
  ///
  /// - Throws: `CheckpointError` (`.badInput`) if `RUN` exists and is not a directory, or is a
  ///   directory without `journal/` holding files that are not ntkbatch's own (not a run
  ///   directory: ntkbatch never writes into it); (`.failure`) on I/O errors.
  public func createLayout() throws {
    try refuseForeignContents()
    for directory in [path, journalDirectory, objectsDirectory] {
      try CheckpointError.wrapping { try SystemFile.createDirectoryDurably(path: directory) }
    }
  }

  /// What `createLayout` refuses, checked without creating anything: `RUN` exists and is not a
  /// directory, or is a directory without `journal/` holding files that are not ntkbatch's own.
  ///
  /// - Throws: `CheckpointError` (`.badInput`) naming `RUN` and why.
  public func refuseForeignContents() throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
      throw CheckpointError(.badInput, "\(path): exists and is not a directory")
    }
    // Without a journal, only ntkbatch's own names; and the files a run writes over (its
    // manifest.json, logits, labels) only beside a mark of a former run (`formerRunMarks`: a run
    // directory whose journal, or journal and objects, were deleted to reuse it): a folder that
    // merely holds a `manifest.json` or a `logits.npy` (a user's) is not a run directory, and a
    // run would overwrite them. (`slurm/` comes before any run.)
    if isDirectory.boolValue, !FileManager.default.fileExists(atPath: journalDirectory) {
      let entries = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
      let foreign = entries.filter { name in
        !Self.ownNames.contains(name) && !name.hasPrefix("lock.") && !AtomicFile.isTemporaryName(name)
      }
      let formerRun = entries.contains { Self.formerRunMarks.contains($0) }
      let overwritten = formerRun ? [] : entries.filter(Self.overwrittenNames.contains)
      if let first = (foreign + overwritten).first {
        let count = foreign.count + overwritten.count
        let why = foreign.isEmpty ? "no journal/ or objects/: a run would overwrite \(count > 1 ? "them" : "it")" : "no journal/"
        throw CheckpointError(.badInput, "\(path): exists, is not empty (\(first)\(count > 1 ? " and \(count - 1) more" : "")) and is not a run directory (\(why)); choose a new or empty --run-dir")
      }
    }
  }

  /// Checks that `RUN` is an existing run directory (for status, verify, assemble).
  ///
  /// - Throws: `CheckpointError` naming the directory: `.badInput` (exit 2) when it is not a run
  ///   directory, `.failure` (exit 1, as for a `journal/` without segments) when it holds a run's
  ///   objects or `manifest.json` but its `journal/` folder is gone.
  public func requireExisting() throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: journalDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
      let kind = SystemFile.kind(of: path)
      if !kind.exists { throw CheckpointError(.badInput, "\(path): no such directory (expected a run directory)") }
      if !kind.isDirectory && !FileManager.default.fileExists(atPath: path + "/") {
        throw CheckpointError(.badInput, "\(path): not a directory (expected a run directory)")
      }
      let hasObjects = FileManager.default.fileExists(atPath: objectsDirectory) || FileManager.default.fileExists(atPath: manifestPath)
      if hasObjects {
        throw CheckpointError(.failure, "\(path): no journal/ folder: the journal is gone, so no tile is recorded as done (`ntkbatch run \(path)/manifest.json --run-dir \(path)` starts over from the first tile; without --run-dir, run computes in the manifest's default directory, runs/NAME)")
      }
      throw CheckpointError(.badInput, "\(path): not a run directory (no journal/ folder)")
    }
  }

  /// `RUN/lock.shard-K-of-N`, the lock of one shard's writer.
  public func lockPath(for shard: ShardSpec) -> String { path + "/lock." + shard.tag }

  /// The lock files of shards (`RUN/lock.shard-*`), sorted.
  public func shardLockPaths() -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    return names.filter { $0.hasPrefix("lock.shard-") }.sorted().map { path + "/" + $0 }
  }

  /// Writers holding a lock now: `(lock file, "pid 12 on host h")`, the run's lock first.
  public func currentWriters() -> [(lock: String, holder: String)] {
    ([lockPath] + shardLockPaths()).compactMap { lock in RunLock.currentHolder(path: lock).map { (lock, $0) } }
  }

  /// Takes the run's writer lock.
  ///
  /// - Throws: `CheckpointError` (`.locked`) naming the holder's pid and host.
  public func lock() throws -> RunLock {
    try RunLock.acquire(path: lockPath)
  }

  /// Takes the writer lock of `shard` (`nil`: the run's lock): one writer per shard on a machine.
  ///
  /// - Throws: `CheckpointError` (`.locked`) naming the shard and the holder's pid and host.
  public func lock(shard: ShardSpec?) throws -> RunLock {
    guard let shard else { return try lock() }
    return try RunLock.acquire(path: lockPath(for: shard), role: "shard \(shard)")
  }

  /// Writes `RUN/manifest.json` atomically.
  public func writeManifest(_ bytes: [UInt8]) throws {
    try CheckpointError.wrapping { try AtomicFile.write(bytes, to: manifestPath) }
  }
}
