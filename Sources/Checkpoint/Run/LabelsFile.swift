import Foundation
import Storage

/// `RUN/labels.npy`: the class labels of the run's n samples in run order, `[n]` int64 (0…9),
/// written by `run` next to `logits.npy` for datasets with labels (not for `npy` inputs, which have
/// none). Derived data, handled as `LogitsFile`: a damaged copy is reported by `verify`, removed by
/// `repair` and written again by the next `run`.
public enum LabelsFile {
  /// Its path in `run`.
  public static func path(in run: RunDirectory) -> String { run.path + "/labels.npy" }

  /// The `.npy` bytes of `labels`: version 1.0, `<i8`, shape `[labels.count]`.
  public static func encoded(_ labels: [Int]) -> [UInt8] {
    let values = labels.map { Int64($0).littleEndian }
    return NpyArray(header: NpyHeader(dtype: .int64, shape: [labels.count]), data: values.withUnsafeBytes { Array($0) }).encoded()
  }

  /// Whether the file at `path` holds exactly `encoded(labels)`. Labels are not part of the run's
  /// identity, so `run` (which has the dataset's labels in memory) writes the file again whenever
  /// this is false: missing, damaged, stale or well-formed but wrong.
  public static func holds(_ labels: [Int], at path: String) -> Bool {
    (try? FileBytes.read(path: path)) == encoded(labels)
  }

  /// The line `run` prints when it replaces an existing file at `path` that does not hold
  /// `labels` (`nil` when there is none): how many labels differ and the first, or what is wrong
  /// with the file.
  public static func rewriteNotice(_ labels: [Int], at path: String) -> String? {
    guard SystemFile.kind(of: path).exists else { return nil }
    let why: String
    if let array = try? NpyArray.read(path: path), array.dtype == .int64, array.shape == [labels.count] {
      let old = array.int64s()
      let differing = labels.indices.filter { Int64(labels[$0]) != old[$0] }
      let first = differing.first.map { ", first at [\($0)]: file has \(old[$0]), dataset has \(labels[$0])" } ?? ""
      why = "the dataset's labels differ from the file's (\(differing.count) of \(labels.count)\(first))"
    } else {
      why = "did not hold the dataset's \(Plural.count(labels.count, "label")) (\(problem(at: path, count: labels.count, outputsPerSample: Int.max) ?? "another encoding"))"
    }
    return "\(path): \(why): rewritten from the dataset (labels are not part of the run's identity: tiles and logits do not depend on them, results computed from the labels do)"
  }

  /// What is wrong with the labels at `path` for a run of `identity`, or `nil` when the file is
  /// absent or a readable `.npy` of `[n]` int64 values in 0 ..< m.
  public static func problem(at path: String, identity: RunIdentity) -> String? {
    problem(at: path, count: identity.sampleCount, outputsPerSample: identity.outputsPerSample)
  }

  /// What is wrong with a labels file at `path` (this one, or a cross run's
  /// `columns-labels.npy`) for `count` samples of m classes, or `nil` when the file is absent or a
  /// readable `.npy` of `[count]` int64 values in 0 ..< m.
  public static func problem(at path: String, count: Int, outputsPerSample m: Int) -> String? {
    LogitsFile.problem(at: path, dtype: .int64, shape: [count]) { array in
      array.int64s().firstIndex(where: { !(0..<Int64(m)).contains($0) }).map { "holds label \(array.int64s()[$0]) at [\($0)], expected 0…\(m - 1)" }
    }
  }
}
