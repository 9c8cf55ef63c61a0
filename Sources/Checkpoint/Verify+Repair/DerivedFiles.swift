import Foundation

/// The derived files `run` writes next to the tiles (not part of the identity, so never needed to
/// verify a tile): `logits.npy`, `labels.npy` (datasets with labels), and for a cross run
/// `columns-logits.npy` and `columns-labels.npy` (a columns dataset with labels), and
/// `checksums.json` (their SHA-256, once any of them exists). `verify` names
/// the missing ones (`ntkbatch run` writes them again) without failing: run directories written
/// before these files existed stay valid.
public enum DerivedFiles {
  /// The names of the derived files `run` should hold but does not, in the order above. Datasets
  /// without labels are those named `npy` in `RUN/manifest.json` (`dataset.name`, `columns.name`);
  /// an unreadable manifest expects every labels file.
  public static func missing(in run: RunDirectory, identity: RunIdentity) -> [String] {
    let manifest = FileManager.default.contents(atPath: run.manifestPath)
      .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
    func hasLabels(_ key: String) -> Bool { ((manifest[key] as? [String: Any])?["name"] as? String) != Manifest.Dataset.npyName }
    var expected = [LogitsFile.path(in: run)]
    if hasLabels("dataset") { expected.append(LabelsFile.path(in: run)) }
    if identity.columnSampleCount != nil {
      expected.append(ColumnsFiles.logitsPath(in: run))
      if hasLabels("columns") { expected.append(ColumnsFiles.labelsPath(in: run)) }
    }
    if !expected.allSatisfy({ !FileManager.default.fileExists(atPath: $0) }) {  // their checksums, once any exists
      expected.append(DerivedChecksums.path(in: run))
    }
    return expected.filter { !FileManager.default.fileExists(atPath: $0) }.map { String($0.dropFirst(run.path.count + 1)) }
  }
}
