import Foundation
import Storage

/// `RUN/logits.npy`: the model's logits `[n, m]` float64 (m = outputs per sample, 10), written by
/// `run`. Derived data: a damaged copy is reported by `verify`, removed by `repair` and written
/// again by the next `run`.
public enum LogitsFile {
  /// Its path in `run`.
  public static func path(in run: RunDirectory) -> String { run.path + "/logits.npy" }

  /// What is wrong with the logits at `path` for a run of `identity`, or `nil` when the file is
  /// absent or a readable `.npy` of `[n, m]` float64 finite values.
  public static func problem(at path: String, identity: RunIdentity) -> String? {
    problem(at: path, rows: identity.sampleCount, outputsPerSample: identity.outputsPerSample)
  }

  /// What is wrong with a logits file of `[rows, outputsPerSample]` float64 at `path` (also
  /// `RUN/columns-logits.npy` of a cross run), or `nil` when absent or intact.
  public static func problem(at path: String, rows: Int, outputsPerSample m: Int) -> String? {
    problem(at: path, dtype: .float64, shape: [rows, m]) { array in
      array.doubles().firstIndex(where: { !$0.isFinite }).map { "holds a non-finite value at [\($0 / m), \($0 % m)]" }
    }
  }

  /// What is wrong with a derived `.npy` file of the run (`logits.npy`, `labels.npy`, a cross
  /// run's columns files) at `path`: `nil` when absent, or readable with `dtype` and `shape` and
  /// `values` finds nothing wrong and its SHA-256 matches `RUN/checksums.json` (`DerivedChecksums`,
  /// when recorded); else one phrase (the reader's error, the dtype and shape found, what `values`
  /// says, or the checksum mismatch).
  static func problem(at path: String, dtype: NpyDType, shape: [Int], values: (NpyArray) -> String?) -> String? {
    guard SystemFile.kind(of: path).exists else { return nil }
    let array: NpyArray
    do { array = try NpyArray.read(path: path) } catch let error as StorageError {
      return error.message
    } catch {
      return "\(error)"
    }
    guard array.dtype == dtype, array.shape == shape else {
      return "holds \(array.dtype.rawValue) \(array.shape), expected \(dtype.rawValue) \(shape)"
    }
    return values(array) ?? DerivedChecksums.mismatch(at: path)
  }
}
