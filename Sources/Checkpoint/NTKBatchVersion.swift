/// The version of ntkbatch, the one place it is written: `ntkbatch --version` prints it
/// (`CommandConfiguration.version`), and it is recorded with what the tool writes: the journal
/// header of every session (`JournalHeader.ntkbatchVersion`), the attributes of an assembled Zarr
/// array (`ntkbatch.version`) and the mask of a partial assemble (`OUTPUT.missing.json`). Raise it
/// with every change of behaviour or format that a run's user may need to trace.
public enum NTKBatchVersion {
  public static let current = "0.9.1"
}
