import Checkpoint
import Foundation
import Storage

/// The mask `assemble --allow-partial` writes next to its output, `OUTPUT.missing.json`: which
/// tiles of the plan were not computed and are NaN in the matrix, as tile indices, block
/// coordinates (I, J), half-open sample ranges and half-open matrix row/column ranges
/// (`samples × valuesPerSample`; a diagonal run's in samples). `outputsPerSample` is the model's
/// outputs per sample m (10, as in the run identity and the Zarr attributes); `valuesPerSample`
/// the matrix rows per sample (m; 1 for trace and pseudo, one value per sample pair). Each missing
/// tile (I, J) also covers its transpose (J, I)
/// (not in a cross run, whose tiles are not mirrored; there `samples.columns` index the `columns` samples);
/// `blocks` gives both as half-open row and column ranges of the output (which may be a block of
/// samples and classes, `samples` and `classes`). Only tiles under the selection are listed.
/// `ntkbatchVersion` is the version of the ntkbatch that wrote the mask (`NTKBatchVersion.current`).
public enum MissingTileMask {
  /// The file written.
  public struct Written {
    public var path: String
    public var missingCount: Int
  }

  /// Writes the mask for an assembled `report` of `run`, atomically.
  ///
  /// - Throws: `CheckpointError` (journal), `StorageError` (`.ioFailure`) on write errors.
  public static func write(report: TileAssembler.Report, run: RunDirectory) throws -> Written {
    guard let identity = try run.journal.replay().identity else {
      throw CheckpointError(.incomplete, "\(run.path): no session header in the journal")
    }
    let plan = try identity.plan()
    let m = plan.kernel == .diagonal ? 1 : plan.valuesPerSample  // diagonal: "matrix" ranges are samples
    let missing = Set(report.missingTiles)
    let blocks = Dictionary(grouping: report.missingBlocks, by: \.tile)
    let tiles: [[String: Any]] = plan.tiles.filter { missing.contains($0.index) }.map { tile in
      [
        "index": tile.index, "I": tile.rowBlock, "J": tile.columnBlock,
        "samples": ["rows": [tile.rows.lowerBound, tile.rows.upperBound],
                    "columns": [tile.columns.lowerBound, tile.columns.upperBound]],
        "matrix": ["rows": [tile.rows.lowerBound * m, tile.rows.upperBound * m],
                   "columns": [tile.columns.lowerBound * m, tile.columns.upperBound * m]],
        "blocks": (blocks[tile.index] ?? []).map { ["rows": $0.rows, "columns": $0.columns] },
      ]
    }
    var object: [String: Any] = [
      "ntkbatchVersion": NTKBatchVersion.current,
      "output": report.output, "format": report.format.rawValue, "dimension": report.dimension,
      "rows": report.rows, "columns": report.columns,
      "samples": ["rows": report.rowSamples, "columns": report.columnSamples],
      "outputsPerSample": plan.outputsPerSample, "valuesPerSample": plan.valuesPerSample, "tileSamples": plan.tileSamples, "kernel": plan.kernel.rawValue, "cross": plan.isCross, "tilesTotal": plan.tiles.count, "missingTiles": tiles,
    ]
    if plan.valuesPerSample > 1 { object["classes"] = report.classes }  // trace, pseudo: no classes
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    let path = report.output + ".missing.json"
    try AtomicFile.write(data, to: path)
    return Written(path: path, missingCount: tiles.count)
  }
}
