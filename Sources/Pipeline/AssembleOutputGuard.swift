import Checkpoint
import Foundation
import Storage

/// Where `assemble` may write: never inside the run directory nor over a folder that contains
/// the run directory or the current directory, into a folder that exists, never over a symbolic
/// link, a `.npy` never over a directory, and never over an existing path that is not provably an
/// earlier output of this run unless `--overwrite` says so: provably earlier means recorded in
/// `RUN/outputs.json` (`AssembledOutputs`) for the run's current identity and unchanged since (a
/// `.npy`'s file identity; a Zarr array's metadata file identity and the listing of its
/// directory, so an added file or an edited chunk counts as a change). The same for the mask
/// `OUTPUT.missing.json` that `--allow-partial` writes.
public enum AssembleOutputGuard {
  /// `path` made absolute, `.`/`..` removed and symbolic links resolved (for the parts that exist).
  public static func resolved(_ path: String) -> String {
    let url = URL(fileURLWithPath: path).standardizedFileURL
    if SystemFile.kind(of: url.path).exists { return url.resolvingSymlinksInPath().path }
    let parent = url.deletingLastPathComponent()
    return resolved(parent.path).appending("/" + url.lastPathComponent).replacingOccurrences(of: "//", with: "/")
  }

  /// What the checks found out about the mask `OUTPUT.missing.json`.
  public struct Findings {
    /// Whether `OUTPUT.missing.json` exists and is the one an assemble of this run wrote (it may
    /// then be removed or replaced).
    public var maskIsOurs: Bool
    /// Whether `OUTPUT.missing.json` exists (ours or not).
    public var maskExists: Bool
  }

  /// Refuses (before any work) an `output` inside `runDirectory`, one containing the run
  /// directory or the current directory, in a folder that does not exist, a symbolic link, a
  /// directory for a `.npy`, and, unless `overwrite`, an existing path not provably written by
  /// this run (see the type) — and with `allowPartial` an existing `OUTPUT.missing.json` that is
  /// not this run's.
  ///
  /// - Throws: `BadInput` (exit 2), one line naming the output (or its folder, or its mask).
  @discardableResult
  public static func check(output: String, runDirectory: String, isZarr: Bool, overwrite: Bool,
                           allowPartial: Bool = false) throws -> Findings {
    let target = resolved(output)
    let run = resolved(runDirectory)
    func contains(_ outer: String, _ inner: String) -> Bool {
      inner == outer || inner.hasPrefix(outer.hasSuffix("/") ? outer : outer + "/")
    }
    if contains(run, target) {
      throw BadInput("\(output): inside the run directory \(runDirectory); assemble writes its output outside the run directory")
    }
    if contains(target, run) {
      throw BadInput("\(output): contains the run directory \(runDirectory); not replaced (also not with --overwrite)")
    }
    if contains(target, resolved(FileManager.default.currentDirectoryPath)) {
      throw BadInput("\(output): contains the current directory; not replaced (also not with --overwrite)")
    }
    let folder = AtomicFile.directory(of: output)
    var isFolder: ObjCBool = false
    if !FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) || !isFolder.boolValue {
      throw BadInput("\(output): the folder \(folder) does not exist (expected an existing folder for the output; create it first)")
    }
    let unslashed = output.hasSuffix("/") && output.count > 1 ? String(output.dropLast()) : output
    if let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: unslashed) {
      throw BadInput("\(output): is a symbolic link (to \(destination)); assemble does not replace a link nor write through it: give the target's path (also not with --overwrite)")
    }
    let kind = SystemFile.kind(of: output)
    if kind.exists && !isZarr && kind.isDirectory {
      throw BadInput("\(output): exists and is a directory, not a .npy file; not replaced (also not with --overwrite)")
    }
    let runDir = RunDirectory(path: runDirectory)
    let mask = output + ".missing.json"
    let runHash = AssembledOutputs.runHash(runDir)  // one journal replay for both checks
    let findings = Findings(maskIsOurs: AssembledOutputs.isOurMask(of: output, run: runDir, runHash: runHash),
                            maskExists: SystemFile.kind(of: mask).exists)
    guard !overwrite else { return findings }
    if kind.exists && !AssembledOutputs.isRecordedAndUnchanged(output, run: runDir, runHash: runHash) {
      throw BadInput("\(output): exists and is not an output of this run recorded in \(AssembledOutputs.path(of: runDir)) (or changed since); not replaced (--overwrite replaces it)")
    }
    if allowPartial && findings.maskExists && !findings.maskIsOurs {
      throw BadInput("\(mask): exists and is not the mask of an --allow-partial assemble of this run recorded in \(AssembledOutputs.path(of: runDir)) (or changed since); not replaced (--overwrite replaces it)")
    }
    return findings
  }
}
