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

  func validate() throws {
    guard (1...Manifest.maximumWidth).contains(width) else { throw ValidationError("--width must be between 1 and \(Manifest.maximumWidth), got \(width)") }
  }

  func run() throws {
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
}
