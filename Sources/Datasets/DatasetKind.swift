/// The five image datasets of the original tool, with where their training split lives on disk
/// and where to download it.
///
/// Addresses and MD5 sums are the ones torchvision's dataset classes publish (`MNIST`, `KMNIST`,
/// `FashionMNIST`, `SVHN` in `torchvision/datasets/{mnist,svhn}.py`); for CIFAR-10 the binary
/// version listed on the dataset authors' page (torchvision downloads the Python-pickle version,
/// which ntkbatch does not read).
public enum DatasetKind: String, CaseIterable, Sendable {
  case cifar10, mnist, kmnist, fmnist, svhn

  /// One downloadable file: its name under `dataset.root`, its published MD5 and the base
  /// addresses it is served from (the file's address is `mirror + fileName`).
  public struct Resource: Equatable, Sendable {
    public var fileName: String
    /// Lower-case hexadecimal MD5 of the file as downloaded.
    public var md5: String
    /// Base addresses ending in `/`, tried in order.
    public var mirrors: [String]
  }

  /// Samples in the training split.
  public var trainingCount: Int {
    switch self {
    case .cifar10: return CIFAR10.trainingCount
    case .mnist, .kmnist, .fmnist: return 60_000
    case .svhn: return SVHN.trainingCount
    }
  }

  /// The files `download` fetches into `dataset.root` for the training split (`resources(of:)`: either split).
  public var resources: [Resource] {
    switch self {
    case .cifar10:
      return [Resource(fileName: "cifar-10-binary.tar.gz", md5: "c32a1d4ab5d03f1284b67883e8d87530",
                       mirrors: ["https://www.cs.toronto.edu/~kriz/"])]
    case .mnist:
      let mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
      return [Resource(fileName: "train-images-idx3-ubyte.gz", md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873", mirrors: mirrors),
              Resource(fileName: "train-labels-idx1-ubyte.gz", md5: "d53e105ee54ea40749a09fcbcd1e9432", mirrors: mirrors)]
    case .kmnist:
      let mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
      return [Resource(fileName: "train-images-idx3-ubyte.gz", md5: "bdb82020997e1d708af4cf47b453dcf7", mirrors: mirrors),
              Resource(fileName: "train-labels-idx1-ubyte.gz", md5: "e144d726b3acfaa3e44228e80efcd344", mirrors: mirrors)]
    case .fmnist:
      let mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
      return [Resource(fileName: "train-images-idx3-ubyte.gz", md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d", mirrors: mirrors),
              Resource(fileName: "train-labels-idx1-ubyte.gz", md5: "25c81989df183df01b3e8a0aad5dffbe", mirrors: mirrors)]
    case .svhn:
      return [Resource(fileName: "train_32x32.mat", md5: "e26dedcc434d2e4c54c9b2d4a06d8373",
                       mirrors: ["http://ufldl.stanford.edu/housenumbers/"])]
    }
  }
}
