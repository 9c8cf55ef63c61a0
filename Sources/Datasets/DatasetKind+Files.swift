extension DatasetKind {
  /// Where one training-split input may be found under `dataset.root`: the first candidate that
  /// exists is read. Paths are relative to the root.
  public struct TrainingFile: Equatable, Sendable {
    /// What the file holds, for messages (e.g. `"images"`, `"batch 3"`).
    public var role: String
    /// Relative paths to try, in order.
    public var candidates: [String]
    /// For a member of an archive: the archive's relative path and the member's name inside it,
    /// tried after `candidates`.
    public var archive: (path: String, member: String)?

    public static func == (a: TrainingFile, b: TrainingFile) -> Bool {
      a.role == b.role && a.candidates == b.candidates && a.archive?.path == b.archive?.path && a.archive?.member == b.archive?.member
    }
  }

  /// Directory of the extracted CIFAR-10 binary archive.
  public static let cifarFolder = "cifar-10-batches-bin"

  /// The training-split inputs, in file order.
  ///
  /// - cifar10: `data_batch_1.bin` … `data_batch_5.bin`, directly under the root, in
  ///   `cifar-10-batches-bin/`, or inside `cifar-10-binary.tar.gz`;
  /// - mnist, kmnist, fmnist: `train-images-idx3-ubyte` and `train-labels-idx1-ubyte`, gzipped
  ///   (`.gz`, as downloaded) or not;
  /// - svhn: `train_32x32.mat`.
  public var trainingFiles: [TrainingFile] {
    switch self {
    case .cifar10:
      return (1...5).map { index in
        let name = "data_batch_\(index).bin"
        return TrainingFile(role: "batch \(index)", candidates: [name, "\(Self.cifarFolder)/\(name)"],
                            archive: (path: "cifar-10-binary.tar.gz", member: "\(Self.cifarFolder)/\(name)"))
      }
    case .mnist, .kmnist, .fmnist:
      return [TrainingFile(role: "images", candidates: ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"], archive: nil),
              TrainingFile(role: "labels", candidates: ["train-labels-idx1-ubyte", "train-labels-idx1-ubyte.gz"], archive: nil)]
    case .svhn:
      return [TrainingFile(role: "images and labels", candidates: ["train_32x32.mat"], archive: nil)]
    }
  }

  /// The end of every missing-file hint: how to have `run` download the files (`check`, which
  /// never downloads, replaces it when the manifest says so already).
  public static let downloadSuggestion = ", or set dataset.download: true"

  /// A one-line hint for a missing file: what to place under the root, or how to download it.
  public var missingFileHint: String {
    let names = resources.map(\.fileName).joined(separator: ", ")
    return "place \(names) in dataset.root (as published at \(resources[0].mirrors[0]))" + Self.downloadSuggestion
  }
}
