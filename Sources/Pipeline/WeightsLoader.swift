import Checkpoint
import Engine
import Storage

/// Builds a manifest's model with its weights: a `.safetensors` file (PyTorch key names) or the
/// seeded PyTorch-style initialisation; hashes the resulting state for the run identity.
///
/// The weights hash is the SHA-256 over every state tensor in model order: its name (UTF-8), a
/// zero byte, its shape as little-endian `Int64`s, then its values as float64 little-endian.
public enum WeightsLoader {
  /// Builds and fills the model.
  ///
  /// - Throws: `EngineError` for an unknown model or a missing, extra or mis-shaped key (naming
  ///   the key and both shapes), `BadInput` for a NaN or ±Inf in a tensor, or a value
  ///   beyond float32's range in a float32 run (naming it and the first bad index), `StorageError`
  ///   for an unreadable weights file, `BadInput` when the model's weights and one gradient
  ///   (2 × state × scalar bytes) exceed the memory budget or this machine's memory, whichever is
  ///   less (checked before anything is allocated; `run` has refused a budget above this machine's
  ///   memory before, `check` plans with it).
  public static func model<T: BLASScalar>(for manifest: Manifest, scalar: T.Type = T.self) throws -> Model<T> {
    try refuseOverBudget(manifest, scalar: T.self, planning: true)
    var model = try ModelZoo.make(name: manifest.model.name, width: manifest.model.width, scalar: T.self)
    if let path = manifest.resolvedWeightsPath {
      let file = try SafetensorsFile.read(path: path)
      var state: [String: StateTensor] = [:]
      for name in file.names {
        let tensor = file.tensors[name]!
        guard tensor.dtype != "I64" || name.hasSuffix("num_batches_tracked") else {
          throw BadInput("\(path): tensor '\(name)': expected a float dtype (F32, F64, F16 or BF16), found I64")
        }
        let values = tensor.doubles()
        if let bad = NonFiniteScan.scan(values) {
          throw BadInput("\(path): tensor '\(name)': expected finite values, found \(bad.value) at index \(NonFiniteScan.position(of: bad.index, in: tensor.shape)) (\(bad.count) non-finite of \(values.count))")
        }
        if T.self == Float.self, let big = values.firstIndex(where: { abs($0) > Double(Float.greatestFiniteMagnitude) }) {
          throw BadInput("\(path): tensor '\(name)': expected values that fit float32 (ntk.precision), found \(values[big]) at index \(NonFiniteScan.position(of: big, in: tensor.shape))")
        }
        state[name] = StateTensor(shape: tensor.shape, values: values)
      }
      do {
        try model.load(state: state)
      } catch let error as EngineError {
        throw BadInput("\(path): \(error.message)")
      }
    } else {
      model.initialize(seed: UInt64(manifest.model.seed))
    }
    return model
  }

  /// Refuses, before allocating anything, a memory budget above this machine's memory
  /// (`/proc/meminfo` MemTotal: a budget the kernel cannot honour would end in an allocation
  /// failure, not a clear error), then a model whose state cannot fit the memory budget
  /// (`ntk.memoryBudget`, or "auto": `ProcessMemory.automaticBudget()`): the weights plus a
  /// gradient of the same size, the least any tile or training step holds besides.
  ///
  /// `planning` (`check`, which may plan for a larger machine than the one it runs on) accepts a
  /// budget above this machine's memory and then refuses only a model whose weights and gradient
  /// exceed this machine's memory (what `check` itself would allocate).
  ///
  /// - Throws: `BadInput` naming ntk.memoryBudget and MemTotal; or naming model.width (models
  ///   with a width: the ResNets), ntk.memoryBudget (the others) or model.name (the others over
  ///   this machine's memory in `check`), P and both sizes (`MemorySizeText`: the need rounded
  ///   up, the budget or MemTotal down).
  public static func refuseOverBudget<T: BLASScalar>(_ manifest: Manifest, scalar: T.Type = T.self, planning: Bool = false) throws {
    var budget = manifest.ntk.memoryBudget ?? ProcessMemory.automaticBudget()
    var limit = "the memory budget of \(MemorySizeText.limit(budget)) (ntk.memoryBudget)"
    if let total = ProcessMemory.totalBytes(), budget > total {
      guard planning else {
        throw BadInput("ntk.memoryBudget: \(Plural.count(budget, "byte")) (\(MemorySizeText.limit(budget))) is more than this machine's memory, \(Plural.count(total, "byte")) (\(MemorySizeText.limit(total)), MemTotal in /proc/meminfo); expected at most that, or \"auto\"")
      }
      budget = total  // check loads the weights here, whatever machine it plans for
      limit = "this machine's memory, \(MemorySizeText.limit(total)) (MemTotal), which check needs to load them"
    }
    // Bytes of a model's weights (its state) and one gradient (P scalars); overflow reported.
    func weightsAndGradient(_ size: ModelSize) -> (bytes: Int, overflow: Bool) {
      let sum = size.stateBytes(T.self).addingReportingOverflow(size.parameterCount.multipliedReportingOverflow(by: MemoryLayout<T>.size).partialValue)
      return (sum.partialValue, sum.overflow)
    }
    let size = try ModelZoo.size(name: manifest.model.name, width: manifest.model.width)
    let (needed, overflow) = weightsAndGradient(size)
    guard overflow || needed > budget else { return }
    let need = overflow ? "more than 8 EiB" : MemorySizeText.need(needed)
    if ModelZoo.hasWidth(manifest.model.name) {
      // Where not even width 1 fits, the budget is what is too small.
      let narrowest = weightsAndGradient(try ModelZoo.size(name: manifest.model.name, width: 1)).bytes
      let remedy = narrowest > budget
        ? "raise ntk.memoryBudget (even width 1 needs \(MemorySizeText.need(narrowest)))" : "use a smaller model.width"
      throw BadInput("model.width: \(manifest.model.name) at width \(manifest.model.width) has P = \(size.parameterCount) parameters, whose weights and one gradient need \(need), over \(limit); \(remedy)")
    }
    if budget == (manifest.ntk.memoryBudget ?? ProcessMemory.automaticBudget()) {  // the budget is what is too small
      let given = manifest.ntk.memoryBudget == nil ? "\"auto\" (\(MemorySizeText.limit(budget)))" : MemorySizeText.limit(budget)
      throw BadInput("ntk.memoryBudget: \(given) is below what \(manifest.model.name) (P = \(size.parameterCount) parameters) needs for its weights and one gradient, \(need); raise ntk.memoryBudget (or \"auto\") or use a smaller model")
    }
    throw BadInput("model.name: \(manifest.model.name) has P = \(size.parameterCount) parameters, whose weights and one gradient need \(need), over \(limit); use a smaller model")
  }

  /// SHA-256 of the model's state (see the type's documentation).
  public static func hash<T: BLASScalar>(_ model: Model<T>) -> ContentHash {
    var hasher = ContentHasher()
    for (name, tensor) in model.state() {
      hasher.update(Array(name.utf8) + [0])
      tensor.shape.map { Int64($0).littleEndian }.withUnsafeBytes { hasher.update($0) }
      tensor.values.withUnsafeBytes { hasher.update($0) }
    }
    return hasher.finalize()
  }
}
