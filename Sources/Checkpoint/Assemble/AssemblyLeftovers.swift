import Foundation
import Storage

/// The run directory's record of `assemble`s in progress, so that `repair` can remove what a
/// killed `assemble` left behind even when it is never run again for the same output.
///
/// Before it creates anything, `assemble` writes `RUN/assembling/<pid>-<hex>` holding the
/// absolute path of its output; it removes the record when it ends, successfully or not, and the
/// folder when no other record is left in it (then `fsync`s the run directory). A record
/// whose process no longer exists names an output that may have leftovers: `repair` removes that
/// output's temporaries of dead processes (`OutputLeftovers`: `.<name>.tmp-<pid>-<hex>` files or
/// Zarr directories next to it) and the record. Recording is best effort: a run directory that
/// cannot be written (read-only) is not an error, and the next `assemble` of the same output
/// cleans up anyway.
public enum AssemblyLeftovers {
  /// `RUN/assembling`.
  public static func directory(of run: RunDirectory) -> String { run.path + "/assembling" }

  /// Records `output` as being assembled by this process; returns the record's path (nil if it
  /// could not be written).
  public static func record(run: RunDirectory, output: String) -> String? {
    let folder = directory(of: run)
    let record = folder + "/\(ProcessInfo.processInfo.processIdentifier)-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    let absolute = absolutePath(output)
    // A second attempt when another assemble removed the (then empty) folder between our mkdir
    // and our write.
    for _ in 0..<2 {
      do {
        try SystemFile.makeDirectory(path: folder)
        try AtomicFile.write(Array(absolute.utf8), to: record)
        return record
      } catch {
        if SystemFile.kind(of: folder).isDirectory { return nil }
      }
    }
    return nil
  }

  /// Removes a record written by `record`, then the folder if no other record is in it.
  public static func clear(_ record: String?) {
    guard let record else { return }
    try? SystemFile.remove(path: record, ignoreMissing: true)
    removeFolderIfEmpty(AtomicFile.directory(of: record))
  }

  /// Removes `RUN/assembling` when empty and makes that durable (`fsync` of the run directory);
  /// best effort, like the records: a folder left behind is harmless.
  static func removeFolderIfEmpty(_ folder: String) {
    guard (try? SystemFile.removeDirectoryIfEmpty(path: folder)) == true else { return }
    try? SystemFile.syncDirectory(path: AtomicFile.directory(of: folder))
  }

  /// `output` made absolute against the current directory, as records hold it.
  static func absolutePath(_ output: String) -> String {
    output.hasPrefix("/") ? output : FileManager.default.currentDirectoryPath + "/" + output
  }

  /// For every record whose process is gone: removes its output's leftovers, then the record.
  ///
  /// - Parameter output: only records of this output (`assemble`, which removes that output's
  ///   leftovers anyway: records of other outputs may come from another machine sharing the run
  ///   directory, whose pids this one cannot check); `nil`: every record (`repair`).
  /// - Returns: the leftover paths removed.
  /// - Throws: `CheckpointError` (`.failure`) if one cannot be removed.
  public static func removeStale(run: RunDirectory, output: String? = nil) throws -> [String] {
    let only = output.map(absolutePath)
    let folder = directory(of: run)
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
    var removed: [String] = []
    for name in names.sorted() {
      let record = folder + "/" + name
      if AtomicFile.isTemporaryName(name) {  // a record's own write, interrupted
        guard only == nil else { continue }
        if let pid = Int32(name.dropFirst().split(separator: "-").first ?? ""), SystemFile.ntkbatchProcessExists(pid) { continue }
        try CheckpointError.wrapping { try SystemFile.remove(path: record, ignoreMissing: true) }
        continue
      }
      guard let pid = Int32(name.split(separator: "-").first ?? ""), !SystemFile.ntkbatchProcessExists(pid) else { continue }
      let recorded = try? String(contentsOfFile: record, encoding: .utf8)
      if let only, recorded != only { continue }
      if let output = recorded, !output.isEmpty {
        removed += try CheckpointError.wrapping { try OutputLeftovers.removeStale(for: output) }
      }
      try CheckpointError.wrapping { try SystemFile.remove(path: record, ignoreMissing: true) }
    }
    removeFolderIfEmpty(folder)
    return removed
  }
}
