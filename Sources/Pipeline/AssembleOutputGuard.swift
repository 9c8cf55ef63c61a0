import Checkpoint
import Foundation
import Storage

/// Where `assemble` may write: never inside the run directory, into a folder that exists, and
/// never over an existing path that is not provably an earlier output of ntkbatch, unless
/// `--overwrite` says so: a `.npy` only when `RUN/outputs.json` (`AssembledOutputs`) records it
/// as written by this run and unchanged since; a Zarr path only when it is a Zarr array whose
/// attributes carry the `ntkbatch` object `ZarrAttributes` writes (never a group, nor a user's
/// array).
public enum AssembleOutputGuard {
  /// `path` made absolute, `.`/`..` removed and symbolic links resolved (for the parts that exist).
  public static func resolved(_ path: String) -> String {
    let url = URL(fileURLWithPath: path).standardizedFileURL
    if SystemFile.kind(of: url.path).exists { return url.resolvingSymlinksInPath().path }
    let parent = url.deletingLastPathComponent()
    return resolved(parent.path).appending("/" + url.lastPathComponent).replacingOccurrences(of: "//", with: "/")
  }

  /// Refuses an `output` inside `runDirectory`, in a folder that does not exist, or an existing
  /// path not provably written by ntkbatch (see the type) unless `overwrite`.
  ///
  /// - Throws: `BadInput` (exit 2), one line naming the output (or its folder).
  public static func check(output: String, runDirectory: String, isZarr: Bool, overwrite: Bool) throws {
    let target = resolved(output)
    let run = resolved(runDirectory)
    if target == run || target.hasPrefix(run.hasSuffix("/") ? run : run + "/") {
      throw BadInput("\(output): inside the run directory \(runDirectory); assemble writes its output outside the run directory")
    }
    let folder = AtomicFile.directory(of: output)
    var isFolder: ObjCBool = false
    if !FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) || !isFolder.boolValue {
      throw BadInput("\(output): the folder \(folder) does not exist (expected an existing folder for the output; create it first)")
    }
    let kind = SystemFile.kind(of: output)
    guard kind.exists, !overwrite else { return }
    if isZarr {
      if !isNtkbatchZarrArray(output) {
        throw BadInput("\(output): exists and is not a Zarr array written by ntkbatch (no \"ntkbatch\" attributes: a Zarr group, a user's array or another file); not replaced (--overwrite replaces it)")
      }
      return
    }
    if kind.isDirectory {
      throw BadInput("\(output): exists and is a directory, not an earlier .npy output; not replaced")
    }
    if !AssembledOutputs.isRecordedAndUnchanged(output, run: RunDirectory(path: runDirectory)) {
      throw BadInput("\(output): exists and is not an output of this run recorded in \(AssembledOutputs.path(of: RunDirectory(path: runDirectory))) (or changed since); not replaced (--overwrite replaces it)")
    }
  }

  /// Whether `path` is a Zarr array (format 3 `zarr.json` with `node_type` `array`, or format 2
  /// `.zarray`) whose attributes (`zarr.json` `attributes`, or `.zattrs`) hold the `ntkbatch`
  /// object that `ZarrAttributes.make` writes.
  public static func isNtkbatchZarrArray(_ path: String) -> Bool {
    func object(_ file: String) -> [String: Any]? {
      guard let bytes = try? FileBytes.read(path: path + "/" + file) else { return nil }
      return (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }
    if let metadata = object("zarr.json") {
      return metadata["node_type"] as? String == "array"
        && ((metadata["attributes"] as? [String: Any])?["ntkbatch"] as? [String: Any]) != nil
    }
    if SystemFile.kind(of: path + "/.zarray").exists, let attributes = object(".zattrs") {
      return (attributes["ntkbatch"] as? [String: Any]) != nil
    }
    return false
  }
}
