import Checkpoint
import Foundation
import Engine
import Storage

/// Reads a manifest's dataset into the model's input tensor and hashes it for the run identity.
///
/// The input-data hash is the SHA-256 of the preprocessed inputs `[n, 3, 32, 32]` as float64
/// little-endian values (exact for float32 and float64 data), so changed files under an existing
/// run are refused, while files that are only moved or re-compressed are not.
enum DatasetLoader {
  /// The preprocessed inputs of a manifest's dataset.
  struct Loaded<T: BLASScalar> {
    /// `[n, 3, 32, 32]`, NCHW.
    var inputs: Tensor<T>
    /// SHA-256 of the inputs as float64.
    var hash: ContentHash
  }

  /// MNIST-family training images file names, plain or gzipped.
  static let mnistImageFiles = ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"]

  /// Loads `manifest.dataset` (first `subsample` samples).
  ///
  /// - Throws: `CLIError.BadInput` naming the file and what was expected (missing file, wrong
  ///   shape, subsample beyond the dataset), `StorageError`/`EngineError` for malformed files.
  static func load<T: BLASScalar>(_ manifest: Manifest, scalar: T.Type = T.self) throws -> Loaded<T> {
    let inputs: Tensor<T>
    switch manifest.dataset.name {
    case "npy": inputs = try loadNpy(manifest)
    default: inputs = try loadMNIST(manifest)
    }
    return Loaded(inputs: inputs, hash: hash(inputs))
  }

  private static func loadMNIST<T: BLASScalar>(_ manifest: Manifest) throws -> Tensor<T> {
    let root = manifest.resolvedDatasetRoot ?? manifest.baseDirectory
    guard let path = mnistImageFiles.map({ "\(root)/\($0)" }).first(where: FileManager.default.fileExists(atPath:)) else {
      throw CLIError.BadInput(
        "\(root): dataset.root has no \(mnistImageFiles.joined(separator: " or ")) (put the official MNIST training-images file there)")
    }
    let bytes = try Gzip.decompressIfNeeded(bytes: FileBytes.read(path: path), path: path)
    let file = try IDXFile(bytes: bytes, name: path)
    let count = try sampleCount(manifest, available: file.count, file: path)
    return try MNISTTransform().tensor(images: file, range: 0..<count, scalar: T.self)
  }

  private static func loadNpy<T: BLASScalar>(_ manifest: Manifest) throws -> Tensor<T> {
    let path = manifest.resolvedDatasetPath ?? ""
    let array = try NpyArray.read(path: path)
    guard array.shape.count == 4, array.shape.dropFirst() == [3, 32, 32], [.float32, .float64].contains(array.dtype) else {
      throw CLIError.BadInput(
        "\(path): dataset.path holds \(array.dtype.rawValue) \(array.shape), expected float32 or float64 [N, 3, 32, 32]")
    }
    let count = try sampleCount(manifest, available: array.shape[0], file: path)
    let values = array.doubles().prefix(count * 3 * 32 * 32).map { T($0) }
    return Tensor(shape: [count, 3, 32, 32], storage: values)
  }

  /// `dataset.subsample`, or every sample; an error if it exceeds what the file holds.
  private static func sampleCount(_ manifest: Manifest, available: Int, file: String) throws -> Int {
    guard let wanted = manifest.dataset.subsample else { return available }
    guard wanted <= available else {
      throw CLIError.BadInput("\(file): dataset.subsample is \(wanted) but the file holds only \(available) samples")
    }
    return wanted
  }

  private static func hash<T: BLASScalar>(_ inputs: Tensor<T>) -> ContentHash {
    var hasher = ContentHasher()
    let chunk = 1 << 16
    var start = 0
    while start < inputs.count {
      let end = min(start + chunk, inputs.count)
      let doubles = inputs.storage[start..<end].map { Double($0) }
      doubles.withUnsafeBytes { hasher.update($0) }
      start = end
    }
    return hasher.finalize()
  }
}
