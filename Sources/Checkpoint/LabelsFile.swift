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

  /// What is wrong with the labels at `path` for a run of `identity`, or `nil` when the file is
  /// absent or a readable `.npy` of `[n]` int64 values in 0 ..< m.
  public static func problem(at path: String, identity: RunIdentity) -> String? {
    guard SystemFile.kind(of: path).exists else { return nil }
    let array: NpyArray
    do { array = try NpyArray.read(path: path) } catch let error as StorageError {
      return error.message
    } catch {
      return "\(error)"
    }
    let expected = [identity.sampleCount]
    guard array.dtype == .int64, array.shape == expected else {
      return "holds \(array.dtype.rawValue) \(array.shape), expected <i8 \(expected)"
    }
    if let bad = array.int64s().firstIndex(where: { !(0..<Int64(identity.outputsPerSample)).contains($0) }) {
      return "holds label \(array.int64s()[bad]) at [\(bad)], expected 0...\(identity.outputsPerSample - 1)"
    }
    return nil
  }
}
