import ArgumentParser
import Datasets
import Engine
import Foundation
import Pipeline

/// `ntkbatch dataset info ROOT --name NAME`: what a dataset folder holds.
struct DatasetCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dataset",
    abstract: "Inspect datasets.",
    subcommands: [Info.self])

  /// `ntkbatch dataset info`.
  struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print a dataset's sample count, shape, label histogram and the input-data SHA-256 a run records.")

    @Argument(help: "The dataset folder (dataset.root).")
    var root: String

    @Option(help: "The dataset: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var name: String

    @Option(parsing: .unconditional, help: "Only the first N samples (as dataset.subsample).")
    var subsample: Int?

    @Option(help: "The split: train or test (as dataset.split).")
    var split: String = "train"

    @Flag(help: "Print JSON.")
    var json = false

    /// A dataset reader's message in this command's terms: no manifest here, so `ROOT` instead of
    /// `dataset.root`, `--subsample` instead of `dataset.subsample`, and no `dataset.download`
    /// suggestion (this command never downloads; a manifest with `dataset.download: true` does).
    static func commandLineWording(_ message: String, root: String) -> String {
      var text = message
      if text.hasSuffix(DatasetKind.downloadSuggestion) {
        text = String(text.dropLast(DatasetKind.downloadSuggestion.count))
          + "; `ntkbatch run` of a manifest with \"download\": true fetches them (dataset info never downloads)"
      }
      return text.replacingOccurrences(of: ": dataset.root has no ", with: ": has no ")
        .replacingOccurrences(of: " in dataset.root ", with: " in \(root) ")
        .replacingOccurrences(of: "dataset.subsample is ", with: "--subsample is ")
    }

    func validate() throws {
      guard DatasetKind(rawValue: name) != nil else {
        throw ValidationError("--name must be one of \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")), got \(name)")
      }
      if let subsample, subsample < 1 { throw ValidationError("--subsample must be positive, got \(subsample)") }
      guard DatasetSplit(rawValue: split) != nil else { throw ValidationError("--split must be train or test, got \(split)") }
    }

    func run() throws {
      let samples = try CLIError.reporting {
        do {
          return try DatasetLoader.read(DatasetKind(rawValue: name)!, root: root, limit: subsample, split: DatasetSplit(rawValue: split)!)
        } catch let error as DatasetError {
          throw DatasetError(error.code, Self.commandLineWording(error.message, root: root))
        }
      }
      let hash = DatasetLoader.hash(samples.images.map { Double($0) })
      if json {
        let object: [String: Any] = ["name": name, "root": root, "split": split, "count": samples.count, "shape": [samples.count, 3, 32, 32],
                                     "labelHistogram": samples.labelHistogram, "sha256": hash.hex]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
      } else {
        print("dataset:   \(name) (\(split == "test" ? "test" : "training") split) in \(root)")
        print("samples:   \(samples.count), preprocessed shape [\(samples.count), 3, 32, 32]")
        print("labels:    " + samples.labelHistogram.enumerated().map { "\($0.offset): \($0.element)" }.joined(separator: ", "))
        print("sha256:    \(hash.hex) (input-data hash a run records)")
      }
    }
  }
}
