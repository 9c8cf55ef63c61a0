import Foundation
import Storage

/// What one eNTK run computes: the dataset, the model and its weights, and how the kernel is
/// tiled, in a small JSON file. Field names are fixed (scripts drive them):
///
/// ```json
/// {"name": "demo",
///  "dataset": {"name": "mnist", "root": "data/mnist-sample", "subsample": 1000},
///  "model": {"name": "lenet", "width": 64, "seed": 0, "weights": "optional/path.safetensors"},
///  "ntk": {"precision": "float32", "normalization": "sqrt-params", "tileSamples": 100}}
/// ```
///
/// Parsing is strict (`Manifest.load(path:knownModels:)`): unknown fields, wrong types, missing
/// required fields and out-of-range values are `CheckpointError`s with code `.badInput` whose
/// one-line message names the file and the field path, e.g.
/// `manifests/x.json: ntk.tileSamples: expected a positive integer, found -3`.
/// Relative paths are kept as written and resolved against `baseDirectory` (the manifest's folder).
public struct Manifest: Codable, Equatable, Sendable {
  /// The keys of a manifest's top-level object: a message starting `<key>.` or `<key>:` names a
  /// manifest field.
  public static let topLevelKeys = ["name", "dataset", "model", "ntk", "columns"]

  /// `name`: a label for the run (non-empty string).
  public var name: String
  /// `dataset`: which images, and how many.
  public var dataset: Dataset
  /// `model`: the classifier and its weights.
  public var model: Model
  /// `ntk`: precision, normalization and tiling of the kernel.
  public var ntk: NTK
  /// `columns`: optional second dataset (same schema as `dataset`). When present the run computes
  /// the rectangular cross kernel K(rows, columns) `[n_rows·10, n_cols·10]`, rows = `dataset`'s
  /// samples, columns = these; absent (`nil`) = the square eNTK of `dataset`. Encoded only when
  /// present, so manifests without it keep their canonical JSON and hash.
  public var columns: Dataset?
  /// The folder relative paths are resolved against (not part of the JSON, nor of the hash).
  public var baseDirectory: String = "."

  /// The manifest's `dataset` object.
  public struct Dataset: Codable, Equatable, Sendable {
    /// `dataset.name` of a preprocessed array file (`path`) instead of a dataset's files: the one
    /// dataset name the manifest itself knows (its fields differ); the others are the caller's
    /// `knownDatasets` (Datasets' `DatasetKind.manifestNames`).
    public static let npyName = "npy"

    /// `dataset.name`: one of the datasets (`DatasetKind`: files under `root`) or `npy` (a
    /// preprocessed float32/float64 array `[N, 3, 32, 32]` in the file `path`). Required.
    public var name: String
    /// `dataset.root`: the folder holding the dataset's files; required unless `name` is `npy`.
    public var root: String?
    /// `dataset.path`: the `.npy` file; required when `name` is `npy`, not allowed otherwise.
    public var path: String?
    /// `dataset.subsample`: use only the first N samples of the split (positive integer); absent = all.
    public var subsample: Int?
    /// `dataset.split`: `"test"` for the dataset's official test split; `nil` is the training
    /// split (the default; `"train"` in a manifest is stored as `nil`, so manifests with or without
    /// it have the same canonical JSON and hash). Not allowed with `npy`.
    public var split: String?
    /// `dataset.download`: fetch missing files from the standard addresses (or `mirror`) into
    /// `root`, checking their published MD5 (default false). Not part of the manifest hash.
    public var download: Bool?
    /// `dataset.mirror`: base address (`http://` or `https://`) to download from instead of the
    /// standard ones; a file's address is `mirror + file name`. Not part of the manifest hash.
    public var mirror: String?

    public init(name: String, root: String? = nil, path: String? = nil, subsample: Int? = nil,
                download: Bool? = nil, mirror: String? = nil, split: String? = nil) {
      self.name = name
      self.root = root
      self.path = path
      self.subsample = subsample
      self.split = split
      self.download = download
      self.mirror = mirror
    }
  }

  /// The manifest's `model` object.
  public struct Model: Codable, Equatable, Sendable {
    /// `model.name`: one of the models the engine knows (e.g. `logistic`, `twolayer`, `lenet`). Required.
    public var name: String
    /// `model.width`: width parameter of the architecture, 1…`Manifest.maximumWidth` (default 64).
    public var width: Int
    /// `model.seed`: seed of the PyTorch-style default initialisation, a non-negative integer
    /// (default 0); used when `weights` is absent.
    public var seed: Int
    /// `model.weights`: a `.safetensors` file with PyTorch `state_dict` key names; absent = seeded init.
    public var weights: String?
    /// `model.train`: train before the eNTK (see `Manifest.Training`); absent = use the weights as they are.
    public var train: Training?

    public init(name: String, width: Int = Manifest.defaultWidth, seed: Int = 0, weights: String? = nil, train: Training? = nil) {
      self.name = name
      self.width = width
      self.seed = seed
      self.weights = weights
      self.train = train
    }
  }

  /// The manifest's `ntk` object.
  public struct NTK: Codable, Equatable, Sendable {
    /// `ntk.precision`: `float32` or `float64`, the compute and tile precision (default float32).
    public var precision: TilePrecision
    /// `ntk.normalization`: `none` or `sqrt-params` (× 1/√P; default sqrt-params).
    public var normalization: KernelNormalization
    /// `ntk.tileSamples`: samples per tile side, 1…`Manifest.maximumTileSamples` (default
    /// `Manifest.defaultTileSamples`, 100);
    /// a tile holds `(tileSamples·10)²` values. `nil` is `"auto"`: the largest tile that fits
    /// `memoryBudget`, resolved by `run` and recorded in the run identity (a resumed run reuses
    /// the recorded value).
    public var tileSamples: Int?
    /// `ntk.memoryBudget`: bytes of resident memory `run` may use; `nil` is `"auto"` (the
    /// default): three quarters of the memory this process may use (cgroup limit, else
    /// MemAvailable). Not part of `canonicalJSON` (it does not change the eNTK).
    public var memoryBudget: Int?
    /// `ntk.kernel`: `full` (default, the (n·10)² eNTK), `trace`, `pseudo` or `diagonal`
    /// (`KernelVariant`).
    public var kernel: KernelVariant

    public init(precision: TilePrecision = .float32, normalization: KernelNormalization = .sqrtParams, tileSamples: Int? = Manifest.defaultTileSamples,
                memoryBudget: Int? = nil, kernel: KernelVariant = .full) {
      self.precision = precision
      self.normalization = normalization
      self.tileSamples = tileSamples
      self.memoryBudget = memoryBudget
      self.kernel = kernel
    }

    enum CodingKeys: String, CodingKey { case precision, normalization, tileSamples, memoryBudget, kernel }

    /// `tileSamples` as an integer or `"auto"`; `memoryBudget` only when set, `kernel` only when
    /// not `full` (so manifests written before these fields keep their canonical JSON and hash).
    public func encode(to encoder: Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(precision, forKey: .precision)
      try container.encode(normalization, forKey: .normalization)
      if let tileSamples { try container.encode(tileSamples, forKey: .tileSamples) } else { try container.encode("auto", forKey: .tileSamples) }
      try container.encodeIfPresent(memoryBudget, forKey: .memoryBudget)
      if kernel != .full { try container.encode(kernel, forKey: .kernel) }
    }

    public init(from decoder: Decoder) throws {
      let container = try decoder.container(keyedBy: CodingKeys.self)
      precision = try container.decode(TilePrecision.self, forKey: .precision)
      normalization = try container.decode(KernelNormalization.self, forKey: .normalization)
      tileSamples = try? container.decode(Int.self, forKey: .tileSamples)
      memoryBudget = try container.decodeIfPresent(Int.self, forKey: .memoryBudget)
      kernel = try container.decodeIfPresent(KernelVariant.self, forKey: .kernel) ?? .full
    }
  }

  /// `model.width` when absent (the original tool's ResNet width); `generate` and `models` use it too.
  public static let defaultWidth = 64
  /// Largest accepted `model.width`.
  public static let maximumWidth = 4096
  /// `ntk.tileSamples` when absent; `generate` uses it too.
  public static let defaultTileSamples = 100
  /// Largest accepted `ntk.tileSamples`.
  public static let maximumTileSamples = 100_000

  public init(name: String, dataset: Dataset, model: Model, ntk: NTK = NTK(), columns: Dataset? = nil, baseDirectory: String = ".") {
    self.name = name
    self.dataset = dataset
    self.columns = columns
    self.model = model
    self.ntk = ntk
    self.baseDirectory = baseDirectory
  }

  enum CodingKeys: String, CodingKey {
    case name, dataset, model, ntk, columns
  }

  /// Decodes strictly (same rules as `load`, except that model and dataset names and paths are
  /// not checked).
  public init(from decoder: Decoder) throws {
    let value = try JSONValue(from: decoder)
    self = try ManifestValidator(file: "manifest", knownModels: nil, knownDatasets: nil).manifest(from: value)
  }

  /// Reads and validates the manifest at `path`.
  ///
  /// - Parameters:
  ///   - knownModels: the model names the engine provides (Checkpoint knows no models).
  ///   - knownDatasets: the dataset names the datasets module provides, `npy` among them
  ///     (`DatasetKind.manifestNames`; Checkpoint knows no datasets).
  ///   - modelsWithWidth: the models that take `model.width` (the others refuse a width other
  ///     than the default); `nil`: not checked.
  ///   - checkPaths: whether `dataset.root`, `dataset.path` and `model.weights` must exist.
  /// - Throws: `CheckpointError` (`.badInput`) naming `path` and the field.
  public static func load(path: String, knownModels: Set<String>, knownDatasets: Set<String>, modelsWithWidth: Set<String>? = nil,
                          checkPaths: Bool = true) throws -> Manifest {
    let data: [UInt8]
    do { data = try FileBytes.read(path: path) } catch let error as StorageError {
      throw CheckpointError(.badInput, "\(path): cannot read the manifest: \(error.message)")
    }
    let folder = AtomicFile.directory(of: path)
    var manifest = try parse(data, file: path, knownModels: knownModels, knownDatasets: knownDatasets, modelsWithWidth: modelsWithWidth)
    manifest.baseDirectory = folder.isEmpty ? "." : folder
    if checkPaths { try manifest.checkPaths(file: path) }
    return manifest
  }

  /// Validates manifest JSON bytes; `file` is used in messages. Paths are not resolved nor checked;
  /// model or dataset names neither when `knownModels` or `knownDatasets` is `nil`, widths neither
  /// when `modelsWithWidth` is `nil`.
  ///
  /// - Throws: `CheckpointError` (`.badInput`).
  public static func parse(_ bytes: [UInt8], file: String, knownModels: Set<String>?, knownDatasets: Set<String>?,
                           modelsWithWidth: Set<String>? = nil) throws -> Manifest {
    guard String(validating: bytes, as: UTF8.self) != nil else {
      throw CheckpointError(.badInput, "\(file): not valid UTF-8, expected a JSON object like {\"name\": …, \"dataset\": {…}, \"model\": {…}, \"ntk\": {…}}")
    }
    let expected = "expected a JSON object like {\"name\": …, \"dataset\": {…}, \"model\": {…}, \"ntk\": {…}}"
    // Where the syntax error is (Foundation's decoder says only that it is one, and accepts a
    // trailing comma before } or ], which jq and Python's json refuse).
    if let problem = JSONSyntax.firstProblem(in: bytes) {
      throw CheckpointError(.badInput, "\(file): not valid JSON: \(problem), \(expected)")
    }
    let value: JSONValue
    do {
      value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    } catch {
      // Valid syntax beyond this decoder's limits (nesting depth, a lone surrogate escape).
      throw CheckpointError(.badInput, "\(file): not valid JSON (\(Self.decoderLimit(error))), \(expected)")
    }
    if let duplicate = JSONDuplicateKeys.first(in: bytes) {
      throw CheckpointError(.badInput, "\(file): \(duplicate.path): expected each key once, found it twice (which value is meant is ambiguous)")
    }
    return try ManifestValidator(file: file, knownModels: knownModels, knownDatasets: knownDatasets, modelsWithWidth: modelsWithWidth,
                                 nonIntegralLiterals: JSONNumberLiterals.nonIntegral(in: bytes))
      .manifest(from: value)
  }

  /// Why Foundation's decoder refused JSON whose syntax is valid, in a phrase.
  static func decoderLimit(_ error: Error) -> String {
    if case DecodingError.dataCorrupted(let context) = error {
      let underlying = context.underlyingError.map { "\($0)" } ?? ""
      return underlying.isEmpty ? context.debugDescription : underlying
    }
    return "\(error)"
  }

  /// `path` resolved against `baseDirectory` (absolute paths are returned as is); for a manifest in
  /// the current directory, `path` itself, standardized (`../data/x`, not `./../data/x`).
  public func resolve(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    var joined = baseDirectory == "." ? path : (baseDirectory as NSString).appendingPathComponent(path)
    while joined.hasPrefix("./") { joined.removeFirst(2) }
    return (joined as NSString).standardizingPath
  }

  /// `dataset.root` resolved, if present.
  public var resolvedDatasetRoot: String? { dataset.root.map(resolve) }
  /// `dataset.path` resolved, if present.
  public var resolvedDatasetPath: String? { dataset.path.map(resolve) }
  /// The manifest whose `dataset` is this manifest's `columns` (for loading the column samples
  /// with the same reader), or `nil` without `columns`.
  public var columnsManifest: Manifest? {
    guard let columns else { return nil }
    var copy = self
    copy.dataset = columns
    copy.columns = nil
    return copy
  }
  /// `model.weights` resolved, if present.
  public var resolvedWeightsPath: String? { model.weights.map(resolve) }

  /// Canonical JSON: every field including defaults, keys sorted, no whitespace, paths as written;
  /// `dataset.download` and `dataset.mirror` are left out (where files come from does not change
  /// the result; the input-data hash covers the data itself).
  public func canonicalJSON() -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var computation = self
    computation.dataset.download = nil
    computation.dataset.mirror = nil
    computation.columns?.download = nil
    computation.columns?.mirror = nil
    computation.ntk.memoryBudget = nil  // a resource limit, not part of the computation
    // Encoding plain strings, integers and enums cannot fail.
    return (try? [UInt8](encoder.encode(computation))) ?? []
  }

  /// SHA-256 of `canonicalJSON()`: the manifest's identity in the journal header.
  public var canonicalHash: ContentHash { ContentHash.sha256(canonicalJSON()) }

  /// Pretty, sorted JSON of the manifest as run (for `RUN/manifest.json`), its locations
  /// absolute (`withAbsoluteLocations()`): the file names the same data and weights from any
  /// folder, as `ntkbatch run RUN/manifest.json` and `assemble`'s check of the run's own inputs
  /// read it (relative paths were resolved against the folder of a manifest the run does not
  /// record). Not the identity: `canonicalJSON()` keeps the paths as written.
  public func prettyJSON() -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
    return ((try? [UInt8](encoder.encode(withAbsoluteLocations()))) ?? []) + [0x0A]
  }

  /// This manifest with `dataset.root`/`path`, `columns.root`/`path` and `model.weights` made
  /// absolute against `baseDirectory` (itself against the current directory) by the rule
  /// `generate` and `slurm` write paths with (`NormalisedPath`: links kept except before `..`).
  public func withAbsoluteLocations() -> Manifest {
    func absolute(_ path: String?) -> String? {
      guard let path else { return nil }
      let cwd = FileManager.default.currentDirectoryPath
      return NormalisedPath.absolute(path, in: NormalisedPath.absolute(baseDirectory, in: cwd))
    }
    var copy = self
    copy.dataset.root = absolute(dataset.root)
    copy.dataset.path = absolute(dataset.path)
    copy.columns?.root = absolute(columns?.root)
    copy.columns?.path = absolute(columns?.path)
    copy.model.weights = absolute(model.weights)
    return copy
  }

  private func checkPaths(file: String) throws {
    func check(_ field: String, _ value: String?, directory: Bool) throws {
      guard let value else { return }
      let resolved = resolve(value)
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) else {
        throw CheckpointError(.badInput, "\(file): \(field): no such \(directory ? "folder" : "file") \(resolved)")
      }
      if isDirectory.boolValue != directory {
        throw CheckpointError(.badInput, "\(file): \(field): expected a \(directory ? "folder" : "file"), found a \(directory ? "file" : "folder") at \(resolved)")
      }
    }
    if dataset.download != true { try check("dataset.root", dataset.root, directory: true) }
    try check("dataset.path", dataset.path, directory: false)
    if let columns {
      if columns.download != true { try check("columns.root", columns.root, directory: true) }
      try check("columns.path", columns.path, directory: false)
    }
    try check("model.weights", model.weights, directory: false)
  }
}
