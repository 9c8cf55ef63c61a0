/// The version of ntkbatch, the one place it is written: `ntkbatch --version` prints it
/// (`CommandConfiguration.version`). Raise it with every change of behaviour or format that a
/// run's user may need to trace.
enum NTKBatchVersion {
  static let current = "0.6.0"
}
