import Checkpoint
import Engine
import Foundation
import Storage

/// Reads a manifest's dataset — the training or test split (`dataset.split`) of cifar10, mnist,
/// kmnist, fmnist or svhn from its official files under `dataset.root` (downloaded first when `dataset.download` is true), or an
/// already-preprocessed `npy` array — into the model's input tensor, and hashes it for the run.
///
/// The input-data hash is the SHA-256 of the preprocessed inputs `[n, 3, 32, 32]` as float64
/// little-endian values (exact for float32 and float64 data): changed files under an existing run
/// are refused, while files that are only moved or re-compressed are not.
public enum DatasetLoader {
  /// The preprocessed inputs of a manifest's dataset.
  public struct Loaded<T: BLASScalar> {
    /// `[n, 3, 32, 32]`, NCHW.
    public var inputs: Tensor<T>
    /// Labels 0…9 (`nil` for `npy`, which has none).
    public var labels: [Int]?
    /// SHA-256 of the inputs as float64.
    public var hash: ContentHash
  }

  /// Loads `manifest.dataset` (the first `subsample` samples of its `split`), its `root` and
  /// `path` resolved against the manifest's folder (`root` defaults to the folder itself).
  ///
  /// - Throws: `DatasetError` naming the file and what was expected (missing file, wrong shape,
  ///   malformed content, subsample beyond the dataset); `StorageError` for unreadable or
  ///   undownloadable files.
  public static func load<T: BLASScalar>(_ manifest: Manifest, scalar: T.Type = T.self, showProgress: Bool = true) throws -> Loaded<T> {
    let source = manifest.dataset
    let limit = source.subsample
    if source.name == Manifest.Dataset.npyName {
      let path = manifest.resolvedDatasetPath ?? ""
      let values = try readNpy(path, limit: limit)
      if T.self == Float.self, let big = values.firstIndex(where: { abs($0) > Double(Float.greatestFiniteMagnitude) }) {
        throw DatasetError(.badInput, "\(path): expected inputs that fit float32 (ntk.precision), found \(values[big]) at index \(NonFiniteScan.position(of: big, in: [values.count / DatasetKind.Samples.imageElements, 3, 32, 32]))")
      }
      let inputs = Tensor<T>(shape: [values.count / DatasetKind.Samples.imageElements, 3, 32, 32], storage: values.map { T($0) })
      return Loaded(inputs: inputs, labels: nil, hash: hash(values))
    }
    guard let kind = DatasetKind(rawValue: source.name) else {
      throw DatasetError(.badInput, "dataset.name: unknown dataset \(source.name)")
    }
    let split = try Self.split(source.split)
    let root = manifest.resolvedDatasetRoot ?? manifest.baseDirectory
    if source.download == true {
      try DatasetFiles(kind: kind, root: root, split: split).download(mirror: source.mirror, showProgress: showProgress)
    }
    let samples = try read(kind, root: root, limit: limit, split: split)
    let inputs = Tensor<T>(shape: [samples.count, 3, 32, 32], storage: samples.images.map { T($0) })
    return Loaded(inputs: inputs, labels: samples.labels, hash: hash(samples.images.map { Double($0) }))
  }

  /// Loads a cross run's `manifest.columns` (`nil` without one) as `load` loads `dataset`, with
  /// the same reader and preprocessing; bad input names `columns.<field>` instead of `dataset.<field>`.
  public static func loadColumns<T: BLASScalar>(_ manifest: Manifest, scalar: T.Type = T.self, showProgress: Bool = true) throws -> Loaded<T>? {
    guard let columns = manifest.columnsManifest else { return nil }
    do {
      return try load(columns, scalar: T.self, showProgress: showProgress)
    } catch let error as DatasetError {
      let fields = ["name", "root", "path", "subsample", "download", "mirror", "split"]
      let renamed = fields.reduce(error.message) { $0.replacingOccurrences(of: "dataset.\($1)", with: "columns.\($1)") }
      guard renamed == error.message, error.code == .sampleRange else { throw DatasetError(error.code, renamed) }
      throw DatasetError(.sampleRange, "columns.subsample: \(error.message)")
    }
  }

  /// `dataset.split` as a `DatasetSplit` (absent: `.train`).
  ///
  /// - Throws: `DatasetError(.badInput)` naming the field for a value other than `train` or
  ///   `test` (the manifest validator refuses those first).
  public static func split(_ value: String?) throws -> DatasetSplit {
    guard let value else { return .train }
    guard let split = DatasetSplit(rawValue: value) else {
      throw DatasetError(.badInput, "dataset.split: expected \"train\" or \"test\", found \"\(value)\"")
    }
    return split
  }

  /// The first `limit` samples (all when `nil`) of `kind`'s `split` under `root`; both splits are
  /// preprocessed alike.
  public static func read(_ kind: DatasetKind, root: String, limit: Int?, split: DatasetSplit = .train) throws -> DatasetKind.Samples {
    let files = DatasetFiles(kind: kind, root: root, split: split)
    let inputs = kind.files(of: split)
    switch kind {
    case .cifar10:
      // Named by full path (an archive member as "ARCHIVE: MEMBER") in messages.
      let batches = try inputs.map { file -> (name: String, bytes: [UInt8]) in
        let location = files.location(of: file)
        let name = file.archive.map { location.hasSuffix($0.path) ? "\(location): \($0.member)" : location } ?? location
        return (name: name, bytes: try files.bytes(of: file))
      }
      return try CIFAR10.samples(batches: batches, limit: limit)
    case .svhn:
      let mat = try files.bytes(of: inputs[0])
      let path = "\(root)/\(inputs[0].candidates[0])"
      let file = try MATFile(bytes: mat, path: path)
      let x = try file.variable(named: "X", path: path)
      let y = try file.variable(named: "y", path: path)
      return try SVHN.samples(images: x.uint8s(path: path), dimensions: x.dimensions, labels: y.doubles(path: path), limit: limit)
    case .mnist, .kmnist, .fmnist:
      let images = try IDXFile(bytes: files.bytes(of: inputs[0]), name: files.location(of: inputs[0]))
      let labels = try IDXFile(bytes: files.bytes(of: inputs[1]), name: files.location(of: inputs[1]))
      let (imagesPath, labelsPath) = (files.location(of: inputs[0]), files.location(of: inputs[1]))
      guard images.count == labels.count else {
        throw DatasetError(.badInput, "\(labelsPath): holds \(Plural.count(labels.count, "label")) but \(imagesPath) holds \(Plural.count(images.count, "image")); expected one label per image")
      }
      let classes: [Int]
      do {
        classes = try labels.labels()
      } catch let error as DatasetError {
        throw DatasetError(error.code, path: labelsPath, error.message)
      }
      let count = try DatasetKind.sampleCount(available: images.count, limit: limit, dataset: kind.rawValue, file: imagesPath)
      let tensor: Tensor<Float>
      do {
        tensor = try MNISTTransform().tensor(images: images, range: 0..<count, scalar: Float.self)
      } catch let error as DatasetError {
        throw DatasetError(error.code, path: imagesPath, error.message)
      }
      return DatasetKind.Samples(count: count, images: tensor.storage, labels: Array(classes.prefix(count)))
    }
  }

  /// The first `limit` images of an `.npy` array `[N, 3, 32, 32]` (float32 or float64), as float64.
  /// NaN or ±Inf among them is bad input, named by its index `[image, channel, row, column]`.
  private static func readNpy(_ path: String, limit: Int?) throws -> [Double] {
    let array: NpyArray
    do {
      array = try NpyArray.read(path: path)
    } catch let error as StorageError where error.message.contains("unsupported dtype '") {
      // The reader lists every dtype it reads; inputs must be float32 or float64.
      let descr = error.message.components(separatedBy: "unsupported dtype '").last?.components(separatedBy: "'").first ?? "?"
      throw DatasetError(.badInput, "\(path): dataset.path holds dtype '\(descr)', expected float32 or float64 [N, 3, 32, 32] (little-endian '<f4' or '<f8')")
    }
    guard array.shape.count == 4, array.shape.dropFirst() == [3, 32, 32], [.float32, .float64].contains(array.dtype) else {
      throw DatasetError(
        .badInput, "\(path): dataset.path holds \(array.dtype.rawValue) \(array.shape), expected float32 or float64 [N, 3, 32, 32] (little-endian '<f4' or '<f8')")
    }
    guard array.shape[0] >= 1 else {
      throw DatasetError(.badInput, "\(path): dataset.path holds no images (shape \(array.shape)), expected [N, 3, 32, 32] with N ≥ 1")
    }
    let count = try DatasetKind.sampleCount(available: array.shape[0], limit: limit, dataset: Manifest.Dataset.npyName, file: path)
    let values = Array(array.doubles().prefix(count * DatasetKind.Samples.imageElements))
    if let bad = NonFiniteScan.scan(values) {
      throw DatasetError(.badInput, "\(path): expected finite inputs, found \(bad.value) at index \(NonFiniteScan.position(of: bad.index, in: [count, 3, 32, 32])) (image \(bad.index / DatasetKind.Samples.imageElements); \(bad.count) non-finite in the first \(Plural.count(count, "image")))")
    }
    return values
  }

  /// SHA-256 of the images as float64 little-endian.
  public static func hash(_ images: [Double]) -> ContentHash {
    images.withUnsafeBytes { ContentHash.sha256($0) }
  }
}
