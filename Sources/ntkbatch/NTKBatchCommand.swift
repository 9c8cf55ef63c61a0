import ArgumentParser
import Checkpoint

/// The `ntkbatch` command line: compute, inspect, verify and assemble eNTK runs.
@main
struct NTKBatchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ntkbatch",
    abstract: "Compute the empirical Neural Tangent Kernel (eNTK) of an image classifier, tile by tile, resumably.",
    discussion: """
      Exit codes: 0 success; 1 failure (I/O error such as ENOSPC or EIO, a damaged journal or \
      object, missing tiles); 2 bad input or refused (manifest, dataset, weights, not a run \
      directory, a run directory of another manifest/weights/data, or locked by another \
      writer); 75 stopped by SIGINT/SIGTERM/SIGHUP, resumable (EX_TEMPFAIL, so a scheduler can requeue). \
      Killed by a signal (e.g. SIGKILL): the shell reports 128 + signal; run again to resume.
      """,
    version: NTKBatchVersion.current,
    subcommands: [RunCommand.self, CheckCommand.self, StatusCommand.self, VerifyCommand.self, RepairCommand.self, AssembleCommand.self, ModelsCommand.self, DatasetCommand.self, ExportWeightsCommand.self, GenerateCommand.self, SlurmCommand.self]
  )
}
