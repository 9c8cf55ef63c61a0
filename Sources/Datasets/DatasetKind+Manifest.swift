import Checkpoint

extension DatasetKind {
  /// The `dataset.name`s (and `columns.name`s) a manifest may give, for `Manifest.load`'s
  /// `knownDatasets`: every kind's name and `npy` (`Manifest.Dataset.npyName`).
  public static var manifestNames: Set<String> {
    Set(allCases.map(\.rawValue)).union([Manifest.Dataset.npyName])
  }

  /// `"cifar10, mnist, kmnist, fmnist or svhn"`: the kinds in declaration order, for help texts.
  public static var namesInProse: String {
    allCases.dropLast().map(\.rawValue).joined(separator: ", ") + " or " + allCases[allCases.count - 1].rawValue
  }
}
