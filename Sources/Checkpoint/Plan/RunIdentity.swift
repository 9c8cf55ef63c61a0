import Storage

/// What a run directory's tiles are the eNTK *of*: the hashes of the manifest, the weights and
/// the input data (computed by the caller), and the plan parameters. Stored in every journal
/// segment's header; a resume with a different identity is refused.
public struct RunIdentity: Codable, Equatable, Sendable {
  /// `Manifest.canonicalHash`.
  public var manifestHash: ContentHash
  /// SHA-256 identifying the model weights (of the `.safetensors` file, or of the seeded init).
  public var weightsHash: ContentHash
  /// SHA-256 identifying the preprocessed input data the tiles are computed from.
  public var inputDataHash: ContentHash
  /// Number of samples n.
  public var sampleCount: Int
  /// Samples per block side t.
  public var tileSamples: Int
  /// Tile precision.
  public var precision: TilePrecision
  /// Kernel scale.
  public var normalization: KernelNormalization
  /// Outputs per sample m (10): the model's classes, whatever the kernel.
  public var outputsPerSample: Int
  /// Cross runs (manifest `columns`) only: number of column samples n_c; `nil` for the square
  /// eNTK (absent in headers written before cross kernels, and never written for square runs).
  public var columnSampleCount: Int?
  /// Cross runs only: SHA-256 of the column samples' preprocessed inputs (as `inputDataHash`).
  public var columnInputDataHash: ContentHash?
  /// The kernel (`ntk.kernel`); in a journal header only when not `full`, absent = `full` (so
  /// run directories written before the field keep their identity byte for byte).
  public var kernel: KernelVariant

  public init(manifestHash: ContentHash, weightsHash: ContentHash, inputDataHash: ContentHash,
              sampleCount: Int, tileSamples: Int, precision: TilePrecision,
              normalization: KernelNormalization, outputsPerSample: Int = 10,
              columnSampleCount: Int? = nil, columnInputDataHash: ContentHash? = nil, kernel: KernelVariant = .full) {
    self.manifestHash = manifestHash
    self.weightsHash = weightsHash
    self.inputDataHash = inputDataHash
    self.sampleCount = sampleCount
    self.tileSamples = tileSamples
    self.precision = precision
    self.normalization = normalization
    self.outputsPerSample = outputsPerSample
    self.columnSampleCount = columnSampleCount
    self.columnInputDataHash = columnInputDataHash
    self.kernel = kernel
  }

  enum CodingKeys: String, CodingKey {
    case manifestHash, weightsHash, inputDataHash, sampleCount, tileSamples, precision, normalization, outputsPerSample
    case columnSampleCount, columnInputDataHash, kernel
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    manifestHash = try c.decode(ContentHash.self, forKey: .manifestHash)
    weightsHash = try c.decode(ContentHash.self, forKey: .weightsHash)
    inputDataHash = try c.decode(ContentHash.self, forKey: .inputDataHash)
    sampleCount = try c.decode(Int.self, forKey: .sampleCount)
    tileSamples = try c.decode(Int.self, forKey: .tileSamples)
    precision = try c.decode(TilePrecision.self, forKey: .precision)
    normalization = try c.decode(KernelNormalization.self, forKey: .normalization)
    outputsPerSample = try c.decode(Int.self, forKey: .outputsPerSample)
    columnSampleCount = try c.decodeIfPresent(Int.self, forKey: .columnSampleCount)
    columnInputDataHash = try c.decodeIfPresent(ContentHash.self, forKey: .columnInputDataHash)
    kernel = try c.decodeIfPresent(KernelVariant.self, forKey: .kernel) ?? .full
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(manifestHash, forKey: .manifestHash)
    try c.encode(weightsHash, forKey: .weightsHash)
    try c.encode(inputDataHash, forKey: .inputDataHash)
    try c.encode(sampleCount, forKey: .sampleCount)
    try c.encode(tileSamples, forKey: .tileSamples)
    try c.encode(precision, forKey: .precision)
    try c.encode(normalization, forKey: .normalization)
    try c.encode(outputsPerSample, forKey: .outputsPerSample)
    try c.encodeIfPresent(columnSampleCount, forKey: .columnSampleCount)
    try c.encodeIfPresent(columnInputDataHash, forKey: .columnInputDataHash)
    if kernel != .full { try c.encode(kernel, forKey: .kernel) }
  }

  /// Whether the run is a cross run (K(rows, columns), manifest `columns`).
  public var isCross: Bool { columnSampleCount != nil }

  /// The plan this identity describes.
  public func plan() throws -> TilePlan {
    try TilePlan(sampleCount: sampleCount, columnSampleCount: columnSampleCount, tileSamples: tileSamples, precision: precision,
                 outputsPerSample: outputsPerSample, kernel: kernel)
  }

  /// Shape of the assembled matrix (`KernelVariant.assembledShape`).
  public var assembledShape: [Int] {
    kernel.assembledShape(samples: sampleCount, columnSamples: columnSampleCount ?? sampleCount, outputs: outputsPerSample)
  }

  /// Values per row of tile (I, J)'s row-major bytes, when its column block has `columns` samples
  /// (`KernelVariant.tileColumnCount`).
  public func tileColumnCount(columns: Int) -> Int { kernel.tileColumnCount(columns: columns, outputs: outputsPerSample) }

  /// What differs from `recorded` (the journal's), one phrase each, e.g.
  /// `weights hash (run has 3fa2…, now 91c0…)`; empty when identical.
  public func differences(from recorded: RunIdentity) -> [String] {
    func short(_ h: ContentHash) -> String { String(h.hex.prefix(12)) + "…" }
    var out: [String] = []
    if manifestHash != recorded.manifestHash { out.append("manifest hash (run has \(short(recorded.manifestHash)), now \(short(manifestHash)))") }
    if weightsHash != recorded.weightsHash { out.append("weights hash (run has \(short(recorded.weightsHash)), now \(short(weightsHash)))") }
    if inputDataHash != recorded.inputDataHash { out.append("input data hash (run has \(short(recorded.inputDataHash)), now \(short(inputDataHash)))") }
    if sampleCount != recorded.sampleCount { out.append("sample count (run has \(recorded.sampleCount), now \(sampleCount))") }
    if tileSamples != recorded.tileSamples { out.append("tileSamples (run has \(recorded.tileSamples), now \(tileSamples))") }
    if precision != recorded.precision { out.append("precision (run has \(recorded.precision.rawValue), now \(precision.rawValue))") }
    if normalization != recorded.normalization { out.append("normalization (run has \(recorded.normalization.rawValue), now \(normalization.rawValue))") }
    func describe(_ n: Int?) -> String { n.map(String.init) ?? "none (square eNTK)" }
    if columnSampleCount != recorded.columnSampleCount { out.append("column sample count (run has \(describe(recorded.columnSampleCount)), now \(describe(columnSampleCount)))") }
    if columnInputDataHash != recorded.columnInputDataHash { out.append("columns input data hash (run has \(recorded.columnInputDataHash.map(short) ?? "none"), now \(columnInputDataHash.map(short) ?? "none"))") }
    if outputsPerSample != recorded.outputsPerSample { out.append("outputs per sample (run has \(recorded.outputsPerSample), now \(outputsPerSample))") }
    if kernel != recorded.kernel { out.append("kernel (run has \(recorded.kernel.rawValue), now \(kernel.rawValue))") }
    return out
  }
}
