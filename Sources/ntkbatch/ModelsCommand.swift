import ArgumentParser
import Checkpoint
import Engine
import Foundation

/// `ntkbatch models`: every model with its trainable-parameter count P.
struct ModelsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "models",
    abstract: "List the models with their trainable-parameter count P at a width.")

  // `.unconditional`: `--width -1` is read as the value (and refused by `validate`).
  @Option(parsing: .unconditional, help: "Width of the width-parameterised models (ResNets).")
  var width = Manifest.defaultWidth

  @Flag(help: "Print JSON.")
  var json = false

  @Option(help: ArgumentHelp("Instead of the table: every state_dict key (PyTorch name) and shape that model.weights of MODEL must hold, in state_dict order.", valueName: "MODEL"))
  var keys: String?

  func validate() throws {
    guard (1...Manifest.maximumWidth).contains(width) else { throw ValidationError("--width must be between 1 and \(Manifest.maximumWidth), got \(width)") }
    if let keys, !ModelZoo.names.contains(keys) {
      throw ValidationError("--keys: unknown model \(keys) (expected one of \(ModelZoo.names.joined(separator: ", ")))")
    }
  }

  func run() throws {
    if let keys {
      try printKeys(of: keys)
      return
    }
    let rows = try CLIError.reporting {
      // From the layer shapes: nothing the size of the weights is allocated (width 1024 would need GBs).
      try ModelZoo.names.map { name -> (String, Int) in (name, try ModelZoo.size(name: name, width: width).parameterCount) }
    }
    if json {
      let object = rows.map { row -> [String: Any] in  // `width` only for the models that have one
        ModelZoo.hasWidth(row.0) ? ["name": row.0, "parameters": row.1, "width": width] : ["name": row.0, "parameters": row.1]
      }
      let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
      print(String(decoding: data, as: UTF8.self))
    } else {
      for (name, count) in rows { print(name.padding(toLength: 14, withPad: " ", startingAt: 0) + String(count)) }
    }
  }

  /// `--keys MODEL`: the keys and shapes `Model.load(state:)` expects (BatchNorm running
  /// statistics included; `num_batches_tracked`, which may be present, is ignored when loading).
  private func printKeys(of name: String) throws {
    let entries = try CLIError.reporting { () -> [(name: String, shape: [Int])] in
      let size = try ModelZoo.size(name: name, width: width)
      guard size.parameterCount <= 1 << 28 else {  // the keys come from a built model: its weights are allocated
        throw CLIError.BadInput("--keys \(name) at width \(width): P = \(size.parameterCount) parameters is too many to build the model for its keys; use a smaller --width (the keys do not depend on it)")
      }
      let model = try ModelZoo.make(name: name, width: ModelZoo.hasWidth(name) ? width : 0, scalar: Float.self)
      return model.stateEntries.map { ($0.name, $0.shape) }
    }
    if json {
      let object = entries.map { ["key": $0.name, "shape": $0.shape] as [String: Any] }
      let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
      print(String(decoding: data, as: UTF8.self))
    } else {
      let column = (entries.map(\.name.count).max() ?? 0) + 2
      for entry in entries { print(entry.name.padding(toLength: column, withPad: " ", startingAt: 0) + "\(entry.shape)") }
    }
  }
}
