import Checkpoint
import Datasets
import Engine

/// The one way the commands read a manifest (`run`, `check`, `generate`, `slurm`): with the
/// engine's models, the datasets' names and the models that take `model.width`, so every
/// command accepts and refuses the same manifests.
enum ManifestInput {
  /// Names of the models that have a width (`ModelZoo.hasWidth`: the ResNets).
  static let modelsWithWidth = Set(ModelZoo.names.filter(ModelZoo.hasWidth))

  /// `Manifest.load` of the manifest file at `path`.
  /// - Throws: `CheckpointError` (`.badInput`) naming `path` and the field.
  static func load(path: String, checkPaths: Bool = true) throws -> Manifest {
    try Manifest.load(path: path, knownModels: Set(ModelZoo.names), knownDatasets: DatasetKind.manifestNames,
                      modelsWithWidth: modelsWithWidth, checkPaths: checkPaths)
  }

  /// `Manifest.parse` of manifest bytes (`file` names them in messages).
  /// - Throws: `CheckpointError` (`.badInput`).
  static func parse(_ bytes: [UInt8], file: String) throws -> Manifest {
    try Manifest.parse(bytes, file: file, knownModels: Set(ModelZoo.names), knownDatasets: DatasetKind.manifestNames,
                       modelsWithWidth: modelsWithWidth)
  }
}
