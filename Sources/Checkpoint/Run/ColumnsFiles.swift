import Foundation
import Storage

/// The cross run's per-column-sample files (manifest `columns`), written by `run` next to
/// `logits.npy`: `RUN/columns-logits.npy` (the model's logits of the column samples,
/// `[n_c, m]` float64) and `RUN/columns-labels.npy` (their labels 0…m−1 in order, `[n_c]` int64;
/// absent for an `npy` columns dataset, which has no labels). Derived data like `logits.npy`:
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

  /// What is wrong with `RUN/columns-labels.npy` at `path` for `count` samples of `m` classes, or
  /// `nil` when absent or a readable `[count]` int64 array of values in 0…m−1.
  public static func labelsProblem(at path: String, count: Int, outputsPerSample m: Int) -> String? {
    guard SystemFile.kind(of: path).exists else { return nil }
    let array: NpyArray
    do { array = try NpyArray.read(path: path) } catch let error as StorageError {
      return error.message
    } catch {
      return "\(error)"
    }
    guard array.dtype == .int64, array.shape == [count] else {
      return "holds \(array.dtype.rawValue) \(array.shape), expected <i8 [\(count)]"
    }
    if let bad = array.int64s().firstIndex(where: { !(0..<Int64(m)).contains($0) }) {
      return "holds label \(array.int64s()[bad]) at [\(bad)], expected 0…\(m - 1)"
    }
    return nil
  }

  /// The damaged files of a cross run (file name → problem), sorted by name; empty for a square
  /// run or when both are absent or intact.
  public static func problems(in run: RunDirectory, identity: RunIdentity) -> [(name: String, problem: String)] {
    guard let count = identity.columnSampleCount else { return [] }
    var out: [(name: String, problem: String)] = []
    if let problem = labelsProblem(at: labelsPath(in: run), count: count, outputsPerSample: identity.outputsPerSample) {
      out.append((labelsName, problem))
    }
    if let problem = LogitsFile.problem(at: logitsPath(in: run), rows: count, outputsPerSample: identity.outputsPerSample) {
      out.append((logitsName, problem))
    }
    return out
  }

  /// The labels as a `.npy` array `[n_c]` int64.
  public static func labelsArray(_ labels: [Int]) -> NpyArray {
    let bytes = labels.map { Int64($0).littleEndian }.withUnsafeBytes { Array($0) }
    return NpyArray(header: NpyHeader(dtype: .int64, shape: [labels.count]), data: bytes)
  }
}
