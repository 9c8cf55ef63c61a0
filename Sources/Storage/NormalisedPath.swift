import Foundation

/// The one rule for a path a command writes into a file for later processes (`generate`'s
/// `dataset.root`, `slurm`'s manifest, run directory and executable in the batch scripts): made
/// absolute against the current directory and normalised — no `.` or empty components, no
/// trailing slash, `..` taken with the component before it — so that `w/../data1/`, `./data1`
/// and `data1` are written alike. Symbolic links are kept (a link the user gave stays the path the
/// jobs use: an automounted or site-wide link may be the name compute nodes know), except where
/// `..` follows one: the system takes `link/..` as the parent of the link's target, so that prefix
/// is resolved (`realpath`) before its last component is dropped, and the path written names the
/// file the path given named. Compare `OutputPlace.resolved`, which resolves every link to decide
/// what a path is.
public enum NormalisedPath {
  /// `path` made absolute against `directory` (itself absolute, e.g. the current directory) and
  /// normalised as above; `"/"` for the root. Reads the file system only (`lstat(2)`) at a `..`.
  public static func absolute(_ path: String, in directory: String) -> String {
    var components: [Substring] = []
    for component in ((path.hasPrefix("/") ? "" : directory + "/") + path).split(separator: "/") where component != "." {
      guard component == ".." else { components.append(component); continue }
      let prefix = "/" + components.joined(separator: "/")
      if !components.isEmpty, FileIdentity.ofEntry(prefix)?.type == UInt32(S_IFLNK) {
        components = URL(fileURLWithPath: prefix).resolvingSymlinksInPath().path.split(separator: "/")
      }
      _ = components.popLast()
    }
    return "/" + components.joined(separator: "/")
  }
}
