import Checkpoint
import Datasets
import Engine

extension DatasetSource {
  /// A manifest's `dataset` object, its `root` and `path` resolved against the manifest's folder
  /// (`root` defaults to the folder itself).
  public init(_ manifest: Manifest) {
    self.init(
      name: manifest.dataset.name, root: manifest.resolvedDatasetRoot ?? manifest.baseDirectory,
      path: manifest.resolvedDatasetPath, subsample: manifest.dataset.subsample, split: manifest.dataset.split,
      download: manifest.dataset.download == true, mirror: manifest.dataset.mirror)
  }
}

extension DatasetLoader {
  /// Loads `manifest.dataset` (see `DatasetLoader.load(_:scalar:showProgress:)`).
  public static func load<T: BLASScalar>(_ manifest: Manifest, scalar: T.Type = T.self, showProgress: Bool = true) throws -> Loaded<T> {
    try load(DatasetSource(manifest), scalar: T.self, showProgress: showProgress)
  }

  /// Loads `manifest.columns`, `nil` without one (see `DatasetLoader.loadColumns(_:scalar:showProgress:)`).
  public static func loadColumns<T: BLASScalar>(_ manifest: Manifest, scalar: T.Type = T.self, showProgress: Bool = true) throws -> Loaded<T>? {
    try loadColumns(manifest.columnsManifest.map(DatasetSource.init), scalar: T.self, showProgress: showProgress)
  }
}
