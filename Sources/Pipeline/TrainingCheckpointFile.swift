import Checkpoint
import Engine
import Storage

/// The tensors of a training checkpoint (`RUN/training/checkpoints/<sha256>.safetensors`): every
/// model state tensor under its PyTorch key, in model order, then the SGD momentum buffer `[P]`
/// under `optimizer.momentum_buffer`; dtype `F32` for a float32 run, `F64` for float64, so that
/// values round-trip bit for bit.
public enum TrainingCheckpointFile {
  /// The key of the momentum buffer.
  public static let momentumKey = "optimizer.momentum_buffer"

  /// Encodes the model's state and the momentum buffer.
  public static func encode<T: BLASScalar>(model: Model<T>, momentum: [T]) -> [UInt8] {
    var entries = model.state().map { (name: $0.name, shape: $0.tensor.shape, values: $0.tensor.values) }
    entries.append((momentumKey, [momentum.count], momentum.map { Double($0) }))
    return SafetensorsFile.encode(entries, dtype: T.self == Double.self ? "F64" : "F32")
  }

  /// Restores the model's state from checkpoint bytes and returns the momentum buffer.
  ///
  /// - Throws: `CheckpointError` (`.damaged`) naming `path` if a tensor is missing or mis-shaped.
  public static func decode<T: BLASScalar>(_ bytes: [UInt8], path: String, into model: inout Model<T>) throws -> [T] {
    do {
      let file = try SafetensorsFile(bytes: bytes, path: path)
      var state: [String: StateTensor] = [:]
      for name in file.names where name != momentumKey {
        state[name] = StateTensor(shape: file.tensors[name]!.shape, values: file.tensors[name]!.doubles())
      }
      try model.load(state: state)
      guard let momentum = file.tensors[momentumKey], momentum.shape == [model.parameterCount] else {
        throw CheckpointError(.damaged, "\(path): no \(momentumKey) of shape [\(model.parameterCount)]")
      }
      return momentum.doubles().map { T($0) }
    } catch let error as StorageError {
      throw CheckpointError(.damaged, error.description)
    } catch let error as EngineError {
      throw CheckpointError(.damaged, "\(path): \(error.message)")
    }
  }

  /// The model state of a checkpoint as a PyTorch `state_dict` file: every tensor but the
  /// momentum buffer, in the checkpoint's dtype, plus an `I64` scalar `num_batches_tracked` =
  /// `batchesSeen` for every BatchNorm (a module with a `running_var`).
  public static func exportedStateDict(_ bytes: [UInt8], path: String, batchesSeen: Int) throws -> [UInt8] {
    let file: SafetensorsFile
    do { file = try SafetensorsFile(bytes: bytes, path: path) } catch let error as StorageError {
      throw CheckpointError(.damaged, error.description)
    }
    let names = file.names.filter { $0 != momentumKey }
    let dtype = file.tensors[names.first ?? ""]?.dtype ?? "F32"
    let entries = names.map { (name: $0, shape: file.tensors[$0]!.shape, values: file.tensors[$0]!.doubles()) }
    let counters = names.filter { $0.hasSuffix(".running_var") }.map {
      (name: String($0.dropLast("running_var".count)) + "num_batches_tracked", shape: [Int](), values: [Int64(batchesSeen)])
    }
    return SafetensorsFile.encode(entries, dtype: dtype, integerEntries: counters)
  }
}
