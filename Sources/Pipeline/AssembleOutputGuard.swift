import Checkpoint
import Foundation
import Storage

/// Where `assemble` may write: where `OutputPlace` allows (outside the run directory, …), and
/// never over an existing path that is not provably an earlier output of this run unless
/// `--overwrite` says so: provably earlier means recorded in
/// `RUN/outputs.json` (`AssembledOutputs`) for the run's current identity and unchanged since (a
/// `.npy`'s file identity; a Zarr array's metadata file identity and the listing of its
/// directory, so an added file or an edited chunk counts as a change). The same for the mask
/// `OUTPUT.missing.json` that `--allow-partial` writes.
public enum AssembleOutputGuard {
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
    try OutputPlace.check(output: output, runDirectory: runDirectory, command: "assemble", isDirectoryOutput: isZarr)
    let runDir = RunDirectory(path: runDirectory)
    let mask = output + ".missing.json"
    let runHash = AssembledOutputs.runHash(runDir)  // one journal replay for both checks
    let findings = Findings(maskIsOurs: AssembledOutputs.isOurMask(of: output, run: runDir, runHash: runHash),
                            maskExists: SystemFile.kind(of: mask).exists)
    guard !overwrite else { return findings }
    if SystemFile.kind(of: output).exists && !AssembledOutputs.isRecordedAndUnchanged(output, run: runDir, runHash: runHash) {
      let damaged = AssembledOutputs.problem(runDir).map { " (\(AssembledOutputs.path(of: runDir)) is damaged: \($0); no output is provably this run's)" } ?? ""
      throw BadInput("\(output): exists and is not an output of this run recorded in \(AssembledOutputs.path(of: runDir)) (or changed since)\(damaged); not replaced (--overwrite replaces it)")
    }
    if allowPartial && findings.maskExists && !findings.maskIsOurs {
      throw BadInput("\(mask): exists and is not the mask of an --allow-partial assemble of this run recorded in \(AssembledOutputs.path(of: runDir)) (or changed since); not replaced (--overwrite replaces it)")
    }
    return findings
  }
}
