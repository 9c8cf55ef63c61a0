import Checkpoint
import Foundation
import Storage

/// The files a run reads as its inputs, as `RUN/manifest.json` names them: `dataset.path`,
/// `columns.path` (npy arrays) and `model.weights` (the `.safetensors` file). `OutputPlace`
/// refuses an output that is one of them, so `--overwrite` cannot replace the run's own data or
/// weights (the run could then neither resume nor be checked).
public enum RunInputFiles {
  /// One input: the manifest field naming it and the path as written there.
  public struct Input: Equatable {
    public var field: String
    public var path: String
  }

  /// The inputs named in `RUN/manifest.json` (none if the file is missing or unreadable: the
  /// other commands report that).
  public static func named(in runDirectory: String) -> [Input] {
    guard let data = try? FileBytes.read(path: RunDirectory(path: runDirectory).manifestPath),
          let object = (try? JSONSerialization.jsonObject(with: Data(data))) as? [String: Any] else { return [] }
    var inputs: [Input] = []
    for (section, key, field) in [("dataset", "path", "dataset.path"), ("columns", "path", "columns.path"), ("model", "weights", "model.weights")] {
      if let path = (object[section] as? [String: Any])?[key] as? String, !path.isEmpty {
        inputs.append(Input(field: field, path: path))
      }
    }
    return inputs
  }

  /// The input among `named(in:)` that `output` would replace, if any. `RUN/manifest.json`
  /// holds absolute paths since 0.8.1 (`Manifest.prettyJSON`); a relative one, written before,
  /// was relative to the folder of the manifest the run came from, which the run does not record:
  /// it is tried against the run directory and against the current directory. An output is also
  /// an input when both are the same file (a hard link).
  public static func input(at output: String, runDirectory: String) -> Input? {
    let target = OutputPlace.resolved(output)
    let targetIdentity = FileIdentity.of(output)
    for input in named(in: runDirectory) {
      let bases = input.path.hasPrefix("/") ? [""] : [runDirectory, FileManager.default.currentDirectoryPath]
      for base in bases {
        let candidate = base.isEmpty ? input.path : (base as NSString).appendingPathComponent(input.path)
        if OutputPlace.resolved(candidate) == target { return input }
        if let targetIdentity, let identity = FileIdentity.of(candidate),
           identity.device == targetIdentity.device && identity.inode == targetIdentity.inode { return input }
      }
    }
    return nil
  }
}
