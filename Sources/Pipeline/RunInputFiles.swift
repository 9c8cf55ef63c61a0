import Checkpoint
import Datasets
import Foundation
import Storage

/// The files a run reads as its inputs, as `RUN/manifest.json` names them: `dataset.path`,
/// `columns.path` (npy arrays), `model.weights` (the `.safetensors` file), and under
/// `dataset.root` and `columns.root` every name the dataset's split may be read from
/// (`DatasetKind.files(of:)`: the candidates and the archive, present or not, since writing one
/// that is absent would make the run read it instead of the file it reads now; with
/// `model.train` also the training split's, which training reads). `OutputPlace`
/// refuses an output that is one of them, so `--overwrite` cannot replace the run's own data or
/// weights (the run could then neither resume nor be checked).
public enum RunInputFiles {
  /// One input: the manifest field naming it and the path as written there (for a file under a
  /// root, the root as written there joined with the file's name).
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
    let trains = (object["model"] as? [String: Any])?["train"] != nil
    for section in ["dataset", "columns"] {
      guard let fields = object[section] as? [String: Any], let root = fields["root"] as? String, !root.isEmpty,
            let kind = (fields["name"] as? String).flatMap(DatasetKind.init(rawValue:)) else { continue }
      var splits = [(fields["split"] as? String).flatMap(DatasetSplit.init(rawValue:)) ?? .train]
      if section == "dataset", trains, !splits.contains(.train) { splits.append(.train) }  // model.train reads the training split
      for file in splits.flatMap(kind.files(of:)) {
        for name in file.candidates + (file.archive.map { [$0.path] } ?? []) {
          inputs.append(Input(field: section + ".root", path: (root as NSString).appendingPathComponent(name)))
        }
      }
    }
    return inputs
  }

  /// Why the run's inputs cannot be told from `RUN/manifest.json`, or `nil` when they can: the
  /// file is missing or not a manifest (`RunSession.manifestProblem`), or it names an input by a
  /// relative path (written before 0.8.1, relative to a folder the run does not record).
  /// `OutputPlace` then replaces no existing file.
  public static func unknownReason(runDirectory: String) -> String? {
    let run = RunDirectory(path: runDirectory)
    if let problem = RunSession.manifestProblem(run: run) { return problem }
    if let relative = named(in: runDirectory).first(where: { !$0.path.hasPrefix("/") }) {
      return "\(run.manifestPath): names \(relative.field) by the relative path \(relative.path) (as versions before 0.8.1 wrote it), relative to a folder the run does not record"
    }
    return nil
  }

  /// The first input among `named(in:)` inside the folder `output` (which replacing the folder,
  /// a Zarr array, would delete), if any.
  public static func input(inside output: String, runDirectory: String) -> Input? {
    let folder = OutputPlace.resolved(output)
    let prefix = folder.hasSuffix("/") ? folder : folder + "/"
    return named(in: runDirectory).first { $0.path.hasPrefix("/") && OutputPlace.resolved($0.path).hasPrefix(prefix) }
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
