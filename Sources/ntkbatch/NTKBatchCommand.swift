import ArgumentParser

/// The `ntkbatch` command line: compute, inspect, verify and assemble eNTK runs.
@main
struct NTKBatchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ntkbatch",
    abstract: "Compute the empirical Neural Tangent Kernel (eNTK) of an image classifier, tile by tile, resumably.",
    discussion: """
      Exit codes: 0 success; 1 failure (I/O error, damaged tiles, missing tiles); 2 bad input \
      (manifest, dataset, weights, run directory); 75 stopped by SIGINT/SIGTERM, resumable.
      """,
    subcommands: [RunCommand.self, StatusCommand.self, VerifyCommand.self, AssembleCommand.self, ModelsCommand.self, DatasetCommand.self, ExportWeightsCommand.self, GenerateCommand.self]
  )
}
