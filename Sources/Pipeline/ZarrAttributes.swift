import Checkpoint
import Engine
import Foundation

/// The attributes of an assembled Zarr array: the run that produced it.
public enum ZarrAttributes {
  /// `ntkbatch`: `{attributesVersion: 1, version, run}` — `version` the ntkbatch that assembled
  /// the array (`NTKBatchVersion.current`), `run` the run directory (absolute);
  /// model, width (`modelWidth`, only for models with a width: `ModelZoo.hasWidth`), P, n,
  /// tileSamples, kernel (`ntk.kernel`), normalization, precision, dataset, the identity hashes,
  /// the layout and the selection (`classes` only for kernels with classes);
  /// a cross run adds `cross: true`, `nColumns`, `columns` and `columnInputDataHash`.
  ///
  /// - Throws: `CheckpointError` (journal), `BadInput` if `RUN/manifest.json` is unreadable.
  public static func make(run: RunDirectory, selection: AssemblySelection, dtype: String) throws -> [String: Any] {
    guard let identity = try run.journal.replay().identity else {
      throw CheckpointError(.incomplete, "\(run.path): no tile computed yet (the journal has no session header)")
    }
    guard let data = FileManager.default.contents(atPath: run.manifestPath),
          let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw BadInput("\(run.manifestPath): cannot read the run's manifest (expected a JSON object)")
    }
    let model = manifest["model"] as? [String: Any] ?? [:]
    let name = model["name"] as? String ?? ""
    let width = model["width"] as? Int ?? 0
    var attributes: [String: Any] = [
      "ntkbatch": ["attributesVersion": 1, "version": NTKBatchVersion.current, "run": URL(fileURLWithPath: run.path).standardizedFileURL.path],
      "model": name,
      "n": identity.sampleCount, "outputsPerSample": identity.outputsPerSample, "tileSamples": identity.tileSamples,
      "kernel": identity.kernel.rawValue, "normalization": identity.normalization.rawValue, "precision": identity.precision.rawValue, "dtype": dtype,
      "dataset": manifest["dataset"] ?? NSNull(),
      "inputDataHash": identity.inputDataHash.hex, "weightsHash": identity.weightsHash.hex, "manifestHash": identity.manifestHash.hex,
    ]
    if ModelZoo.hasWidth(name) { attributes["modelWidth"] = width }  // the others have no width
    if let weights = model["weights"] { attributes["weights"] = weights }
    if let columnCount = identity.columnSampleCount {  // cross kernel K(dataset, columns)
      attributes["cross"] = true
      attributes["nColumns"] = columnCount
      attributes["columns"] = manifest["columns"] ?? NSNull()
      attributes["columnInputDataHash"] = identity.columnInputDataHash?.hex ?? NSNull()
    }
    if let parameters = try? ModelZoo.size(name: name, width: width).parameterCount {
      attributes["P"] = parameters
    }
    let plan = try identity.plan()
    let resolved = try selection.resolved(for: plan)
    let m = plan.valuesPerSample
    attributes["valuesPerSample"] = m  // rows per sample: outputsPerSample, or 1 for trace and pseudo
    attributes["samples"] = ["rows": [resolved.rows.lowerBound, resolved.rows.upperBound],
                             "columns": [resolved.columns.lowerBound, resolved.columns.upperBound]]
    if m > 1 { attributes["classes"] = resolved.classes }  // trace, pseudo: one value per sample pair, no classes
    attributes["layout"] = plan.kernel == .diagonal
      ? "[sample − \(resolved.rows.lowerBound), position of the row class in classes, position of the column class]: G[sample·\(identity.outputsPerSample) + class, sample·\(identity.outputsPerSample) + class′]"
      : m == 1 ? "row = sample − \(resolved.rows.lowerBound), column = sample − \(resolved.columns.lowerBound) (kernel \(plan.kernel.rawValue): one value per sample pair)"
      : resolved.allClasses && resolved.rows.lowerBound == 0 && resolved.columns.lowerBound == 0
      ? "row = sample·\(m) + class"
      : "row = (sample − \(resolved.rows.lowerBound))·\(resolved.classes.count) + position of the class in classes; column = (sample − \(resolved.columns.lowerBound))·\(resolved.classes.count) + position of the class"
    return attributes
  }
}
