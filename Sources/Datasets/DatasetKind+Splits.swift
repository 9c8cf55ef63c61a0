extension DatasetKind {
  /// Samples in `split`: 60,000 / 10,000 (MNIST family), 50,000 / 10,000 (CIFAR-10),
  /// 73,257 / 26,032 (SVHN).
  public func count(of split: DatasetSplit) -> Int {
    switch (self, split) {
    case (_, .train): return trainingCount
    case (.cifar10, .test): return CIFAR10.recordsPerBatch
    case (.mnist, .test), (.kmnist, .test), (.fmnist, .test): return 10_000
    case (.svhn, .test): return SVHN.testCount
    }
  }

  /// The inputs of `split`, in file order (see `trainingFiles` for the training split).
  ///
  /// Test split:
  /// - cifar10: `test_batch.bin`, directly under the root, in `cifar-10-batches-bin/`, or inside
  ///   `cifar-10-binary.tar.gz` (the same archive as the training batches);
  /// - mnist, kmnist, fmnist: `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, gzipped
  ///   (`.gz`, as downloaded) or not;
  /// - svhn: `test_32x32.mat`.
  public func files(of split: DatasetSplit) -> [TrainingFile] {
    guard split == .test else { return trainingFiles }
    switch self {
    case .cifar10:
      let name = "test_batch.bin"
      return [TrainingFile(role: "test batch", candidates: [name, "\(Self.cifarFolder)/\(name)"],
                           archive: (path: "cifar-10-binary.tar.gz", member: "\(Self.cifarFolder)/\(name)"))]
    case .mnist, .kmnist, .fmnist:
      return [TrainingFile(role: "test images", candidates: ["t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"], archive: nil),
              TrainingFile(role: "test labels", candidates: ["t10k-labels-idx1-ubyte", "t10k-labels-idx1-ubyte.gz"], archive: nil)]
    case .svhn:
      return [TrainingFile(role: "test images and labels", candidates: ["test_32x32.mat"], archive: nil)]
    }
  }

  /// The files `download` fetches into `dataset.root` for `split`, with the MD5 sums torchvision
  /// publishes (`torchvision/datasets/mnist.py`: `MNIST`, `KMNIST`, `FashionMNIST` resources;
  /// `svhn.py`: `split_list["test"]`). CIFAR-10's binary archive holds both splits.
  public func resources(of split: DatasetSplit) -> [Resource] {
    guard split == .test else { return resources }
    let mirrors = resources[0].mirrors
    switch self {
    case .cifar10:
      return resources
    case .mnist:
      return [Resource(fileName: "t10k-images-idx3-ubyte.gz", md5: "9fb629c4189551a2d022fa330f9573f3", mirrors: mirrors),
              Resource(fileName: "t10k-labels-idx1-ubyte.gz", md5: "ec29112dd5afa0611ce80d1b7f02629c", mirrors: mirrors)]
    case .kmnist:
      return [Resource(fileName: "t10k-images-idx3-ubyte.gz", md5: "5c965bf0a639b31b8f53240b1b52f4d7", mirrors: mirrors),
              Resource(fileName: "t10k-labels-idx1-ubyte.gz", md5: "7320c461ea6c1c855c0b718fb2a4b134", mirrors: mirrors)]
    case .fmnist:
      return [Resource(fileName: "t10k-images-idx3-ubyte.gz", md5: "bef4ecab320f06d8554ea6380940ec79", mirrors: mirrors),
              Resource(fileName: "t10k-labels-idx1-ubyte.gz", md5: "bb300cfdad3c16e7a12a480ee83cd310", mirrors: mirrors)]
    case .svhn:
      return [Resource(fileName: "test_32x32.mat", md5: "eb5a983be6a315427106f1b164d9cef3", mirrors: mirrors)]
    }
  }

  /// A one-line hint for a missing file of `split`: what to place under the root, or how to
  /// download it.
  public func missingFileHint(for split: DatasetSplit) -> String {
    let names = resources(of: split).map(\.fileName).joined(separator: ", ")
    return "place \(names) in dataset.root (as published at \(resources[0].mirrors[0]))" + Self.downloadSuggestion
  }
}
