import Foundation
import Storage

/// The cross run's per-column-sample files (manifest `columns`), written by `run` next to
/// `logits.npy`: `RUN/columns-logits.npy` (the model's logits of the column samples,
/// `[n_c, m]` float64) and `RUN/columns-labels.npy` (their labels 0…m−1 in order, `[n_c]` int64;
/// absent for an `npy` columns dataset, which has no labels; its format and checks are
/// `LabelsFile`'s). Derived data like `logits.npy`:
/// `verify` names a damaged copy, `repair` removes it and the next `run` writes it again.
public enum ColumnsFiles {
  /// File name of the column samples' logits.
  public static let logitsName = "columns-logits.npy"
  /// File name of the column samples' labels.
  public static let labelsName = "columns-labels.npy"

  /// `RUN/columns-logits.npy`.
  public static func logitsPath(in run: RunDirectory) -> String { run.path + "/" + logitsName }
  /// `RUN/columns-labels.npy`.
  public static func labelsPath(in run: RunDirectory) -> String { run.path + "/" + labelsName }

  /// The damaged files of a cross run (file name → problem), sorted by name; empty for a square
  /// run or when both are absent or intact.
  public static func problems(in run: RunDirectory, identity: RunIdentity) -> [(name: String, problem: String)] {
    guard let count = identity.columnSampleCount else { return [] }
    var out: [(name: String, problem: String)] = []
    if let problem = LabelsFile.problem(at: labelsPath(in: run), count: count, outputsPerSample: identity.outputsPerSample) {
      out.append((labelsName, problem))
    }
    if let problem = LogitsFile.problem(at: logitsPath(in: run), rows: count, outputsPerSample: identity.outputsPerSample) {
      out.append((logitsName, problem))
    }
    return out
  }
}
