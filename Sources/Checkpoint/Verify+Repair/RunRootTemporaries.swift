import Foundation
import Storage

/// AtomicFile temporaries (`.<name>.tmp-<pid>-<hex>`, `AtomicFile.temporaryPath`) that a killed
/// writer left in the run directory itself — `logits.npy`, `labels.npy`, `columns-*.npy`,
/// `manifest.json` are written that way — as opposed to those under `objects/`
/// (`ObjectStore.temporaryFiles`).
public enum RunRootTemporaries {
  /// The temporaries in `run`'s root whose writer (the pid in the name) no longer exists on this
  /// machine, sorted. A temporary of a live process (a `run` writing `logits.npy` now) is not one.
  public static func stale(in run: RunDirectory) -> [String] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: run.path) else { return [] }
    return entries.sorted().compactMap { name -> String? in
      guard AtomicFile.isTemporaryName(name), writerIsGone(name) else { return nil }
      return run.path + "/" + name
    }
  }

  /// Whether the writer of the temporary `name` (`.<name>.tmp-<pid>-<hex>`: the pid in it) no
  /// longer exists on this machine; `true` for a name without a pid.
  public static func writerIsGone(_ name: String) -> Bool {
    guard let marker = name.range(of: AtomicFile.temporaryMarker) else { return true }
    let rest = name[marker.upperBound...]
    guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]) else { return true }
    return !SystemFile.ntkbatchProcessExists(pid)
  }

  /// Removes `stale(in:)` (files, or directories with everything in them: an `assemble` output
  /// under the run directory).
  ///
  /// - Returns: the paths removed.
  /// - Throws: `CheckpointError` (`.failure`) if one cannot be removed.
  public static func removeStale(in run: RunDirectory) throws -> [String] {
    let found = stale(in: run)
    for path in found { try CheckpointError.wrapping { try SystemFile.removeTree(path: path) } }
    return found
  }
}
