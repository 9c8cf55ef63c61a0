import Foundation
import Storage

/// Writes the full symmetric eNTK `[n·m, n·m]` of a run as one `.npy` (format 1.0, C order,
/// float16, float32 or float64): row `i·m + a` is sample i, output (class) a.
///
/// Tile (I, J) goes to rows `I·t·m…`, columns `J·t·m…`, and its transpose to (J, I). On diagonal
/// tiles the lower triangle is taken from the upper one, so the file is exactly symmetric. Tiles
/// are read (decompressed and re-hashed) one at a time and written with `pwrite`, so memory is
/// bounded by one tile, never the matrix. The output appears atomically (temporary file, fsync,
/// rename, fsync of the directory) and only if complete and every value fits the dtype.
public enum TileAssembler {
  /// What was written.
  public struct Report: Codable, Equatable, Sendable {
    /// The output file.
    public var output: String
    /// Matrix side n·m.
    public var dimension: Int
    /// Output dtype descr (`<f2`, `<f4`, `<f8`).
    public var dtype: String
    /// Bytes of the file.
    public var byteCount: Int
    /// Tiles filled with NaN because they are not journaled (only with `allowPartial`).
    public var missingTiles: [Int]
  }

  /// Assembles `run` into `output`.
  ///
  /// - Parameters:
  ///   - dtype: `.float16`, `.float32` or `.float64`.
  ///   - allowPartial: write NaN for tiles not journaled yet instead of refusing.
  ///   - progress: called with (tiles written, tiles total).
  /// - Throws: `CheckpointError`: `.badInput` (not a run directory, unsupported dtype),
  ///   `.incomplete` (tiles missing: how many, the first few), `.overflow` (values beyond the
  ///   dtype's finite range: how many; nothing written), `.damaged` (an object fails its hash),
  ///   `.failure` (I/O, or not enough free space).
  @discardableResult
  public static func assemble(run: RunDirectory, dtype: NpyDType, output: String, allowPartial: Bool = false,
                              progress: (Int, Int) -> Void = { _, _ in }) throws -> Report {
    guard [.float16, .float32, .float64].contains(dtype) else {
      throw CheckpointError(.badInput, "\(output): output dtype must be float16, float32 or float64")
    }
    try run.requireExisting()
    let replay = try run.journal.replay()
    guard let identity = replay.identity else {
      throw CheckpointError(.incomplete, "\(run.path): no tile computed yet (the journal has no session header)")
    }
    let plan = try identity.plan()
    let missing = plan.tiles.filter { replay.tiles[$0.index] == nil }
    if !missing.isEmpty && !allowPartial {
      let listed = missing.prefix(5).map { "\($0.index) (I=\($0.rowBlock), J=\($0.columnBlock))" }.joined(separator: ", ")
      throw CheckpointError(.incomplete, "\(run.path): \(missing.count) of \(plan.tiles.count) tiles are missing (first: \(listed)\(missing.count > 5 ? ", …" : "")); run `ntkbatch run` to finish, or assemble with --allow-partial")
    }
    let n = plan.dimension
    let needed = Int64(n) * Int64(n) * Int64(dtype.byteSize) + 4096
    let folder = AtomicFile.directory(of: output)
    if let available = try? SystemFile.availableBytes(path: folder), available < needed {
      throw CheckpointError(.failure, "\(output): not enough free space: the matrix needs \(needed) bytes, \(available) are available in \(folder)")
    }
    let writer = try CheckpointError.wrapping { try NpyDenseWriter(path: output, dtype: dtype, rows: n, columns: n) }
    do {
      for (k, tile) in plan.tiles.enumerated() {
        try write(tile, record: replay.tiles[tile.index], plan: plan, store: run.objects, into: writer)
        progress(k + 1, plan.tiles.count)
      }
      if writer.overflowCount > 0 {
        throw CheckpointError(.overflow, "\(output): \(writer.overflowCount) values of the matrix are outside the finite range of \(dtype == .float16 ? "float16 (±65504)" : dtype.rawValue); nothing written. Use --dtype float32, or normalization sqrt-params")
      }
      try CheckpointError.wrapping { try writer.commit() }
    } catch {
      writer.abandon()
      throw error
    }
    return Report(output: output, dimension: n, dtype: dtype.rawValue, byteCount: writer.dataOffset + n * n * dtype.byteSize,
                  missingTiles: missing.map(\.index))
  }

  /// Writes one tile and, off the diagonal, its transpose.
  private static func write(_ tile: Tile, record: TileRecord?, plan: TilePlan, store: ObjectStore, into writer: NpyDenseWriter) throws {
    let m = plan.outputsPerSample
    let rows = tile.rows.count * m
    let columns = tile.columns.count * m
    let row = tile.rows.lowerBound * m
    let column = tile.columns.lowerBound * m
    let raw: [UInt8]
    if let record {
      guard record.rawByteCount == tile.rawByteCount, record.rowBlock == tile.rowBlock, record.columnBlock == tile.columnBlock else {
        throw CheckpointError(.damaged, "tile \(tile.index) (I=\(tile.rowBlock), J=\(tile.columnBlock)): journal record does not match the plan (\(record.rawByteCount) bytes, expected \(tile.rawByteCount))")
      }
      raw = try CheckpointError.wrapping { try store.read(record.object, rawByteCount: record.rawByteCount) }
    } else {
      raw = []
    }
    func place<T: BinaryFloatingPoint>(_ type: T.Type, _ put: (UnsafeBufferPointer<T>, Int, Int, Int, Int, Bool) throws -> Void) throws {
      var values: [T]
      if raw.isEmpty {
        values = [T](repeating: .nan, count: rows * columns)
      } else {
        values = [T](unsafeUninitializedCapacity: rows * columns) { buffer, initialized in
          raw.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
          initialized = rows * columns
        }
      }
      if tile.isDiagonal {
        values.withUnsafeMutableBufferPointer { v in
          for r in 1..<max(rows, 1) { for c in 0..<r { v[r * columns + c] = v[c * columns + r] } }
        }
      }
      try values.withUnsafeBufferPointer { v in
        try put(v, rows, columns, row, column, false)
        if !tile.isDiagonal { try put(v, rows, columns, column, row, true) }
      }
    }
    try CheckpointError.wrapping {
      switch plan.precision {
      case .float32:
        try place(Float.self) { try writer.write($0, blockRows: $1, blockColumns: $2, row: $3, column: $4, transposed: $5) }
      case .float64:
        try place(Double.self) { try writer.write($0, blockRows: $1, blockColumns: $2, row: $3, column: $4, transposed: $5) }
      }
    }
  }
}
