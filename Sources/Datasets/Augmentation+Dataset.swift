import Engine

extension Augmentation {
  /// The original tool's augmentation for a dataset: cifar10 crop (pad 4) + flip; mnist, kmnist,
  /// fmnist rotation ±20° + crop (pad 4); svhn crop (pad 4) + flip.
  public static func standard(for dataset: DatasetKind) -> Augmentation {
    switch dataset {
    case .cifar10:
      let fill = (0..<3).map { Double(-CIFAR10.mean[$0] / CIFAR10.std[$0]) }
      return Augmentation(rotationDegrees: 0, cropPadding: 4, horizontalFlip: true, fill: fill)
    case .mnist, .kmnist, .fmnist:
      return Augmentation(rotationDegrees: 20, cropPadding: 4, horizontalFlip: false)
    case .svhn:
      return Augmentation(rotationDegrees: 0, cropPadding: 4, horizontalFlip: true)
    }
  }
}
