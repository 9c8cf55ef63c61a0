import ArgumentParser
import Checkpoint
import Foundation
import Pipeline
import Storage

/// `ntkbatch export-weights RUN --output FILE.safetensors`: the trained weights of a run as a
/// PyTorch `state_dict` file.
struct ExportWeightsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export-weights",
    abstract: "Write a run's trained weights as a .safetensors state_dict with PyTorch key names.",
    discussion: """
      Exports the last committed training epoch of RUN (RUN/training): every parameter and BatchNorm \
      running statistic under its PyTorch key, in the run's precision (F32 or F64), plus \
      num_batches_tracked (I64) = the number of training batches seen. Loads with \
      safetensors.torch.load_file and model.load_state_dict (see tools/check_weights_pytorch.py), \
      and as model.weights of a manifest. An existing output is refused (exit 2) unless \
      --overwrite (it may hold the weights of another run), or it already holds these weights; an \
      output inside RUN, a symbolic link, a directory, or one in a missing folder is refused also \
      with --overwrite.
      """
  )

  @Argument(help: "The run directory of a manifest with model.train.")
  var runDirectory: String

  @Option(help: "The .safetensors file to write (atomically).")
  var output: String

  @Flag(name: .customLong("allow-unfinished"), help: "Export even if training has not finished (the last committed epoch).")
  var allowUnfinished = false

  @Flag(help: "Replace an existing output file (refused otherwise: it may be another run's weights).")
  var overwrite = false

  func run() throws {
    try CLIError.reporting {
      // Never inside the run directory (its training checkpoints are the run's state), …
      try OutputPlace.check(output: output, runDirectory: runDirectory, command: "export-weights", isDirectoryOutput: false)
      // … and named as what it is (a manifest's model.weights must end in .safetensors).
      try OutputPlace.checkExtension(output: output, extension: "safetensors", what: "the weights export-weights writes")
      let store = TrainingCheckpointStore(run: RunDirectory(path: runDirectory))
      guard let (record, bytes) = try store.latest() else {
        throw CLIError.BadInput("\(runDirectory): no trained weights (no \(store.recordPath); run a manifest with model.train first)")
      }
      guard record.finished || allowUnfinished else {
        throw CLIError.BadInput("\(runDirectory): training stopped after epoch \(record.epoch) and has not finished; run it again, or pass --allow-unfinished")
      }
      let file = try TrainingCheckpointFile.exportedStateDict(bytes, path: store.checkpointPath(record.checkpoint), batchesSeen: record.batchesSeen)
      let epoch = "epoch \(record.epoch)\(record.finished ? ", finished" : ", unfinished")"
      if SystemFile.kind(of: output).exists && !overwrite {
        if (try? FileBytes.read(path: output)) == file {  // this export again: nothing to replace
          print("\(output) already holds these weights (\(epoch)); unchanged")
          return
        }
        throw CLIError.BadInput("\(output): exists (it may hold the weights of another run); not replaced (--overwrite replaces it)")
      }
      try AtomicFile.write(file, to: output)
      print("wrote \(output): the trained weights of \(runDirectory) (\(epoch)), \(Plural.count(file.count, "byte")), PyTorch state_dict names")
    }
  }
}
