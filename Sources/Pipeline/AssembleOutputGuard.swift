import Foundation
import Storage

/// Where `assemble` may write: never inside the run directory, and never over an existing file
/// that is not an earlier output of the same kind (a `.npy` of a 2-D float matrix; a Zarr array
/// directory is checked by the Zarr writer), unless `--overwrite` says so.
public enum AssembleOutputGuard {
  /// `path` made absolute, `.`/`..` removed and symbolic links resolved (for the parts that exist).
  public static func resolved(_ path: String) -> String {
    let url = URL(fileURLWithPath: path).standardizedFileURL
    if SystemFile.kind(of: url.path).exists { return url.resolvingSymlinksInPath().path }
    let parent = url.deletingLastPathComponent()
    return resolved(parent.path).appending("/" + url.lastPathComponent).replacingOccurrences(of: "//", with: "/")
  }

  /// Refuses an `output` inside `runDirectory`, or an existing non-output file unless `overwrite`.
  ///
  /// - Throws: `BadInput` (exit 2), one line naming the output.
  public static func check(output: String, runDirectory: String, isZarr: Bool, overwrite: Bool) throws {
    let target = resolved(output)
    let run = resolved(runDirectory)
    if target == run || target.hasPrefix(run.hasSuffix("/") ? run : run + "/") {
      throw BadInput("\(output): inside the run directory \(runDirectory); assemble writes its output outside the run directory")
    }
    let kind = SystemFile.kind(of: output)
    guard kind.exists, !isZarr, !overwrite else { return }
    if kind.isDirectory {
      throw BadInput("\(output): exists and is a directory, not an earlier .npy output; not replaced")
    }
    if !isEarlierNpyOutput(output) {
      throw BadInput("\(output): exists and is not an earlier assemble output (a .npy of a 2-D float matrix); not replaced (--overwrite replaces it)")
    }
  }

  /// Whether `path` starts with a readable `.npy` header of a 2-D float16/32/64 array.
  public static func isEarlierNpyOutput(_ path: String) -> Bool {
    guard let file = try? SystemFile.openForReading(path: path) else { return false }
    defer { try? file.close() }
    var prefix = [UInt8](repeating: 0, count: 4096)
    guard let count = try? prefix.withUnsafeMutableBytes({ try file.read(atOffset: 0, into: $0) }),
          let (header, _) = try? NpyHeader.decode(Array(prefix[0..<count]), path: path) else { return false }
    // 2-D: the square (or selected) matrix; 3-D [n, k, k]: the diagonal kernel's blocks.
    return (header.shape.count == 2 || (header.shape.count == 3 && header.shape[1] == header.shape[2]))
      && [NpyDType.float16, .float32, .float64].contains(header.dtype)
  }
}
