import Foundation

/// Temporary files and directories that an interrupted `assemble` leaves next to its output.
///
/// Every output (`.npy` file, Zarr directory, `.missing.json` mask) is written under a temporary
/// name in the destination's folder, `.<name>.tmp-<pid>-<hex>` (`AtomicFile.temporaryPath`), and
/// renamed into place when complete. A `kill -9` leaves that temporary behind; the next `assemble`
/// of the same output removes every such leftover whose process no longer exists on this machine
/// (a leftover of a live process — a concurrent `assemble` of the same output — is kept).
public enum OutputLeftovers {
  /// Leftover temporaries of output `path` (and of its `path.missing.json`), with the process id
  /// their name records.
  public static func find(for path: String) -> [(path: String, pid: Int32)] {
    let directory = AtomicFile.directory(of: path)
    let name = AtomicFile.name(of: path)
    let prefixes = ["." + name + AtomicFile.temporaryMarker, "." + name + ".missing.json" + AtomicFile.temporaryMarker]
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
    var found: [(String, Int32)] = []
    for entry in entries.sorted() {
      guard let prefix = prefixes.first(where: { entry.hasPrefix($0) }) else { continue }
      let rest = entry.dropFirst(prefix.count)
      guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]) else { continue }
      found.append((directory + "/" + entry, pid))
    }
    return found
  }

  /// Removes the leftovers of `path` whose process is gone (files, or Zarr directories with
  /// everything in them).
  ///
  /// - Returns: the paths removed.
  /// - Throws: `StorageError` (`.ioFailure`) if one cannot be removed.
  @discardableResult
  public static func removeStale(for path: String) throws -> [String] {
    var removed: [String] = []
    for leftover in find(for: path) where !SystemFile.ntkbatchProcessExists(leftover.pid) {
      try SystemFile.removeTree(path: leftover.path)
      removed.append(leftover.path)
    }
    return removed
  }
}
