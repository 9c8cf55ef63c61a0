/// Turns a parsed JSON value into a `Manifest`, field by field, with one-line errors
/// `<file>: <field path>: expected …, found …`.
struct ManifestValidator {
  let file: String
  let knownModels: Set<String>?
  let knownDatasets: Set<String>?
  /// The models that take `model.width` (the engine's ResNets); `nil`: not checked. Another
  /// model given a width other than the default is refused (`model.width: lenet has no width …`):
  /// the value would change nothing computed but still the manifest hash. The default itself
  /// (`Manifest.defaultWidth`) is accepted, as `generate` and `RUN/manifest.json` write it for
  /// every model and it is what an absent width means.
  var modelsWithWidth: Set<String>? = nil
  /// The numbers written with a fraction or an exponent, as written, by field path
  /// (`JSONNumberLiterals.nonIntegral`): an integer field refuses them, `20.0` and `2e1` as much
  /// as `20.5`, since the decoder hands such a literal to an integer field as the integer it
  /// rounds to (`20.0000000000000001` too). Empty when the bytes are not at hand (`Decodable`).
  var nonIntegralLiterals: [String: String] = [:]

  func manifest(from value: JSONValue) throws -> Manifest {
    guard case .object(let top) = value else {
      throw CheckpointError(.badInput, "\(file): expected a JSON object at the top level, found \(value.summary)")
    }
    try onlyKnownKeys(top, Manifest.topLevelKeys, at: "")
    let name = try requiredString(top, "name", at: "")
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    guard !name.isEmpty, !name.hasPrefix("."), name.count <= 200, name.allSatisfy(allowed.contains) else {
      throw fail("name", "expected 1 to 200 letters, digits, '.', '_' or '-', not starting with '.' (it names the run directory runs/<name>), found \(JSONValue.string(name).summary)")
    }
    let dataset = try datasetObject(try requiredObject(top, "dataset", at: ""))
    let model = try modelObject(try requiredObject(top, "model", at: ""))
    let ntk = try ntkObject(try object(top, "ntk", at: "", required: false) ?? [:])
    let columns = try object(top, "columns", at: "", required: false).map { try datasetObject($0, at: "columns") }
    if columns != nil, ntk.kernel == .diagonal {
      throw fail("ntk.kernel", "\"diagonal\" has no cross kernel (its blocks are k(x_i, x_i)); drop columns or use full, trace or pseudo")
    }
    return Manifest(name: name, dataset: dataset, model: model, ntk: ntk, columns: columns)
  }

  /// `dataset`, or `columns` (`at`: the field name used in messages; same schema).
  private func datasetObject(_ fields: [String: JSONValue], at parent: String = "dataset") throws -> Manifest.Dataset {
    try onlyKnownKeys(fields, ["name", "root", "path", "subsample", "download", "mirror", "split"], at: parent)
    let name = try requiredString(fields, "name", at: parent)
    if let knownDatasets, !knownDatasets.contains(name) {
      throw fail("\(parent).name", "expected one of \(knownDatasets.sorted().joined(separator: ", ")), found \(JSONValue.string(name).summary)")
    }
    let root = try string(fields, "root", at: parent, required: false)
    let path = try string(fields, "path", at: parent, required: false)
    let npy = name == Manifest.Dataset.npyName
    if npy {
      guard let path else { throw fail("\(parent).path", "missing (required when \(parent).name is npy: the .npy file)") }
      guard path.hasSuffix(".npy") else { throw fail("\(parent).path", "expected a .npy file, found \(JSONValue.string(path).summary)") }
      if root != nil { throw fail("\(parent).root", "not allowed when \(parent).name is npy (use \(parent).path)") }
    } else {
      guard root != nil else { throw fail("\(parent).root", "missing (required when \(parent).name is \(name): the folder of its files)") }
      if path != nil { throw fail("\(parent).path", "not allowed when \(parent).name is \(name) (use \(parent).root)") }
    }
    for (field, value) in [("root", root), ("path", path)] {
      if let value, value.isEmpty { throw fail("\(parent).\(field)", "expected a non-empty path, found \"\"") }
    }
    let subsample = try integer(fields, "subsample", at: parent, range: 1...Int.max, expected: "a positive integer")
    let download = try boolean(fields, "download", at: parent)
    let mirror = try string(fields, "mirror", at: parent, required: false)
    if let mirror, !(mirror.hasPrefix("http://") || mirror.hasPrefix("https://")) {
      throw fail("\(parent).mirror", "expected an http:// or https:// base address, found \(JSONValue.string(mirror).summary)")
    }
    if npy, download != nil || mirror != nil {
      throw fail(download != nil ? "\(parent).download" : "\(parent).mirror", "not allowed when \(parent).name is npy (nothing to download)")
    }
    let split = try string(fields, "split", at: parent, required: false)
    if let split, !["train", "test"].contains(split) {
      throw fail("\(parent).split", "expected \"train\" or \"test\", found \(JSONValue.string(split).summary)")
    }
    if npy, split != nil {
      throw fail("\(parent).split", "not allowed when \(parent).name is npy (the .npy file is the data)")
    }
    return Manifest.Dataset(name: name, root: root, path: path, subsample: subsample, download: download, mirror: mirror,
                            split: split == "train" ? nil : split)
  }

  private func modelObject(_ fields: [String: JSONValue]) throws -> Manifest.Model {
    try onlyKnownKeys(fields, ["name", "width", "seed", "weights", "train"], at: "model")
    let name = try requiredString(fields, "name", at: "model")
    if let knownModels, !knownModels.contains(name) {
      throw fail("model.name", "expected one of \(knownModels.sorted().joined(separator: ", ")), found \(JSONValue.string(name).summary)")
    }
    let width = try integer(fields, "width", at: "model", range: 1...Manifest.maximumWidth,
                            expected: "an integer from 1 to \(Manifest.maximumWidth)") ?? Manifest.defaultWidth
    if let modelsWithWidth, fields["width"] != nil, width != Manifest.defaultWidth, !modelsWithWidth.contains(name) {
      throw fail("model.width", "\(name) has no width (only \(modelsWithWidth.sorted().joined(separator: ", ")) have one), found \(width); remove model.width")
    }
    let seed = try integer(fields, "seed", at: "model", range: 0...Int.max, expected: "a non-negative integer") ?? 0
    let weights = try string(fields, "weights", at: "model", required: false)
    if let weights, !weights.hasSuffix(".safetensors") {
      throw fail("model.weights", "expected a .safetensors file, found \(JSONValue.string(weights).summary)")
    }
    let train = try object(fields, "train", at: "model", required: false).map(trainObject)
    return Manifest.Model(name: name, width: width, seed: seed, weights: weights, train: train)
  }

  private func trainObject(_ fields: [String: JSONValue]) throws -> Manifest.Training {
    try onlyKnownKeys(fields, ["lr", "batchSize", "epochs", "targetAccuracy", "seed", "samples"], at: "model.train")
    let defaults = Manifest.Training()
    return Manifest.Training(
      lr: try number(fields, "lr", at: "model.train", valid: { $0 > 0 }, expected: "a positive number") ?? defaults.lr,
      batchSize: try integer(fields, "batchSize", at: "model.train", range: 1...Manifest.Training.maximumBatchSize,
                             expected: "an integer from 1 to \(Manifest.Training.maximumBatchSize)") ?? defaults.batchSize,
      epochs: try integer(fields, "epochs", at: "model.train", range: 1...Manifest.Training.maximumEpochs,
                          expected: "an integer from 1 to \(Manifest.Training.maximumEpochs)") ?? defaults.epochs,
      targetAccuracy: try number(fields, "targetAccuracy", at: "model.train", valid: { $0 >= 0 && $0 <= 1 },
                                 expected: "a number from 0 to 1") ?? defaults.targetAccuracy,
      seed: try integer(fields, "seed", at: "model.train", range: 0...Int.max, expected: "a non-negative integer") ?? defaults.seed,
      samples: try integer(fields, "samples", at: "model.train", range: 1...Int.max, expected: "a positive integer"))
  }

  /// A finite number (integer or not) satisfying `valid`.
  private func number(_ fields: [String: JSONValue], _ key: String, at parent: String, valid: (Double) -> Bool, expected: String) throws -> Double? {
    guard let value = fields[key] else { return nil }
    let number: Double?
    switch value {
    case .integer(let n): number = Double(n)
    case .number(let x): number = x
    default: number = nil
    }
    guard let number, number.isFinite, valid(number) else { throw fail(path(parent, key), "expected \(expected), found \(value.summary)") }
    return number
  }

  private func ntkObject(_ fields: [String: JSONValue]) throws -> Manifest.NTK {
    try onlyKnownKeys(fields, ["precision", "normalization", "tileSamples", "memoryBudget", "kernel"], at: "ntk")
    let defaults = Manifest.NTK()
    let precision = try enumeration(fields, "precision", at: "ntk", TilePrecision.self) ?? defaults.precision
    let normalization = try enumeration(fields, "normalization", at: "ntk", KernelNormalization.self) ?? defaults.normalization
    let tileSamples = fields["tileSamples"] == .string("auto") ? nil
      : try integer(fields, "tileSamples", at: "ntk", range: 1...Manifest.maximumTileSamples,
                    expected: "a positive integer up to \(Manifest.maximumTileSamples)") ?? Manifest.defaultTileSamples
    let memoryBudget = fields["memoryBudget"] == .string("auto") ? nil
      : try integer(fields, "memoryBudget", at: "ntk", range: 1...Int.max, expected: "a positive integer number of bytes or \"auto\"")
    let kernel = try enumeration(fields, "kernel", at: "ntk", KernelVariant.self) ?? defaults.kernel
    return Manifest.NTK(precision: precision, normalization: normalization, tileSamples: tileSamples, memoryBudget: memoryBudget,
                        kernel: kernel)
  }

  // MARK: - Field readers

  private func fail(_ field: String, _ message: String) -> CheckpointError {
    CheckpointError(.badInput, "\(file): \(field): \(message)")
  }

  private func path(_ parent: String, _ key: String) -> String {
    parent.isEmpty ? key : parent + "." + key
  }

  private func onlyKnownKeys(_ fields: [String: JSONValue], _ known: [String], at parent: String) throws {
    for key in fields.keys.sorted() where !known.contains(key) {
      let shown = JSONValue.string(key).summary.dropFirst().dropLast()
      throw fail(path(parent, String(shown)), "unknown field (expected \(known.joined(separator: ", ")))")
    }
  }

  private func object(_ fields: [String: JSONValue], _ key: String, at parent: String, required: Bool) throws -> [String: JSONValue]? {
    guard let value = fields[key] else {
      if required { throw fail(path(parent, key), "missing (required)") }
      return nil
    }
    guard case .object(let inner) = value else { throw fail(path(parent, key), "expected an object, found \(value.summary)") }
    return inner
  }

  private func string(_ fields: [String: JSONValue], _ key: String, at parent: String, required: Bool) throws -> String? {
    guard let value = fields[key] else {
      if required { throw fail(path(parent, key), "missing (required)") }
      return nil
    }
    guard case .string(let text) = value else { throw fail(path(parent, key), "expected a string, found \(value.summary)") }
    return text
  }

  private func requiredString(_ fields: [String: JSONValue], _ key: String, at parent: String) throws -> String {
    guard let text = try string(fields, key, at: parent, required: true) else { throw fail(path(parent, key), "missing (required)") }
    return text
  }

  private func requiredObject(_ fields: [String: JSONValue], _ key: String, at parent: String) throws -> [String: JSONValue] {
    guard let inner = try object(fields, key, at: parent, required: true) else { throw fail(path(parent, key), "missing (required)") }
    return inner
  }

  /// An integer field: a JSON number written as digits alone (optionally `-`), within `range`.
  /// A literal with a fraction or an exponent is refused whatever its value (`20.0`, `2e1`), as
  /// written, so that what is accepted never depends on floating-point rounding.
  private func integer(_ fields: [String: JSONValue], _ key: String, at parent: String, range: ClosedRange<Int>, expected: String) throws -> Int? {
    guard let value = fields[key] else { return nil }
    if let literal = nonIntegralLiterals[path(parent, key)], let number = value.integerValue {
      // Decoded as an integer, but not written as one (`20.5` and `1e400` are no integers at all:
      // named by their value below).
      throw fail(path(parent, key), "expected \(expected), found \(literal) (an integer field takes digits only: \(number))")
    }
    guard case .integer(let number) = value, range.contains(number) else {
      throw fail(path(parent, key), "expected \(expected), found \(value.summary)")
    }
    return number
  }

  private func boolean(_ fields: [String: JSONValue], _ key: String, at parent: String) throws -> Bool? {
    guard let value = fields[key] else { return nil }
    guard case .bool(let flag) = value else { throw fail(path(parent, key), "expected true or false, found \(value.summary)") }
    return flag
  }

  private func enumeration<E: RawRepresentable & CaseIterable>(_ fields: [String: JSONValue], _ key: String, at parent: String, _ type: E.Type) throws -> E? where E.RawValue == String {
    guard let value = fields[key] else { return nil }
    let choices = E.allCases.map(\.rawValue).joined(separator: " or ")
    guard case .string(let text) = value, let result = E(rawValue: text) else {
      throw fail(path(parent, key), "expected \(choices), found \(value.summary)")
    }
    return result
  }
}
