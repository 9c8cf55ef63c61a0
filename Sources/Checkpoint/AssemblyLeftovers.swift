import Foundation
import Storage

/// The run directory's record of `assemble`s in progress, so that `repair` can remove what a
/// killed `assemble` left behind even when it is never run again for the same output.
///
/// While it writes, `assemble` keeps `RUN/assembling/<temporary name>` holding the absolute path
/// of its temporary output (`.<name>.tmp-<pid>-<hex>`, a file or a Zarr directory); it removes the
/// record when it ends, successfully or not. A record whose process no longer exists marks a
/// leftover. Recording is best effort: a run directory that cannot be written (read-only) is not
/// an error, and the next `assemble` of the same output cleans up anyway (`OutputLeftovers`).
public enum AssemblyLeftovers {
  /// `RUN/assembling`.
  public static func directory(of run: RunDirectory) -> String { run.path + "/assembling" }

  /// Records `temporaryPath` as in progress; returns the record's path (nil if it could not be written).
  public static func record(run: RunDirectory, temporaryPath: String) -> String? {
    let folder = directory(of: run)
    let record = folder + "/" + (temporaryPath as NSString).lastPathComponent
    let absolute = temporaryPath.hasPrefix("/") ? temporaryPath : FileManager.default.currentDirectoryPath + "/" + temporaryPath
    do {
      try SystemFile.makeDirectory(path: folder)
      try AtomicFile.write(Array(absolute.utf8), to: record)
      return record
    } catch {
      return nil
    }
  }

  /// Removes a record written by `record`.
  public static func clear(_ record: String?) {
    guard let record else { return }
    try? SystemFile.remove(path: record, ignoreMissing: true)
  }

  /// Removes the temporary outputs of recorded `assemble`s whose process is gone, and their
  /// records (only temporary names are ever removed). Returns the paths removed.
  ///
  /// - Throws: `CheckpointError` (`.failure`) if a leftover cannot be removed.
  public static func removeStale(run: RunDirectory) throws -> [String] {
    let folder = directory(of: run)
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
    var removed: [String] = []
    for name in names.sorted() {
      guard let range = name.range(of: AtomicFile.temporaryMarker) else { continue }
      let rest = name[range.upperBound...]
      guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), !SystemFile.processExists(pid) else { continue }
      let record = folder + "/" + name
      let target = (try? String(contentsOfFile: record, encoding: .utf8)) ?? ""
      if (target as NSString).lastPathComponent == name, SystemFile.kind(of: target).exists {
        try CheckpointError.wrapping { try SystemFile.removeTree(path: target) }
        removed.append(target)
      }
      try CheckpointError.wrapping { try SystemFile.remove(path: record, ignoreMissing: true) }
    }
    return removed
  }
}
