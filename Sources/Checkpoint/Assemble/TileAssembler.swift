import Dispatch
import Foundation
import Storage

/// Writes the symmetric eNTK `[n·m, n·m]` of a run — or a block of it — as one `.npy` (format
/// 1.0, C order) or a Zarr array (format 3 or 2, zstd), in float16, float32 or float64: row
/// `i·m + a` is sample i, output (class) a. A cross run's matrix is K(rows, columns)
/// `[n·m, n_c·m]` (columns: the `columns` samples), every tile placed as is, nothing mirrored.
///
/// Tile (I, J) holds rows `I·t·m…`, columns `J·t·m…`, and its transpose (J, I). On diagonal tiles
/// the lower triangle is taken from the upper one, so the matrix is exactly symmetric.
///
/// The output is produced in *row bands* (`TileBandFiller`): the rows of one tile block (`.npy`)
/// or one chunk row (Zarr) across all selected columns. A band is filled from the tiles it
/// crosses — decompressed, re-hashed and checked for non-finite values on both cores — then
/// converted and written: for `.npy` as one `pwrite` of contiguous rows while the next band is
/// being filled (two band buffers), for Zarr as compressed chunks on both cores. A band wider than
/// `Options.bandBytes` (256 MiB) is done in windows of columns (whole tiles for `.npy`, whole
/// chunks for Zarr), so memory is bounded by two band buffers plus one tile per core whatever n
/// is, never the matrix. Each tile is read once per band it crosses (twice for an off-diagonal
/// tile: itself and its transpose), except that with chunk = tile, the run precision and the
/// whole matrix, an off-diagonal full-size tile's object *is* its upper chunk and is copied (or
/// hard-linked) without being decoded.
///
/// The output appears atomically (temporary name, durable, rename) and only if complete (unless
/// `allowPartial`), finite and every value fits the dtype.
public enum TileAssembler {
  /// Output container.
  public enum OutputFormat: String, Codable, Sendable {
    case npy, zarr
  }

  /// What to write.
  public struct Options {
    /// `.float16`, `.float32` or `.float64`.
    public var dtype: NpyDType
    /// Write NaN (`.npy`) or leave chunks absent (Zarr) for tiles not journaled yet instead of refusing.
    public var allowPartial: Bool
    /// The block of samples and the classes to write.
    public var selection: AssemblySelection
    public var format: OutputFormat
    /// Zarr format version.
    public var zarrVersion: ZarrArrayWriter.Format
    /// Zarr chunk side in output rows (and columns); `nil` = the tile (tileSamples · classes kept),
    /// clamped to the array and to `maximumChunkBytes` (`defaultChunk`).
    public var chunk: Int?
    /// Hard-link stored objects as Zarr chunks where possible, instead of copying them.
    public var linkObjects: Bool
    /// Zarr array attributes (JSON-serialisable).
    public var attributes: [String: Any]
    /// Threads that decompress, convert and compress.
    public var workers: Int
    /// Most bytes of one band buffer: a band wider than this is filled and written in windows of
    /// columns (aligned to tiles for `.npy`, to chunks for Zarr), so memory stays bounded for any n.
    public var bandBytes: Int

    public init(dtype: NpyDType = .float32, allowPartial: Bool = false, selection: AssemblySelection = .all,
                format: OutputFormat = .npy, zarrVersion: ZarrArrayWriter.Format = .v3, chunk: Int? = nil,
                linkObjects: Bool = false, attributes: [String: Any] = [:], workers: Int = 2, bandBytes: Int = 256 << 20) {
      self.dtype = dtype
      self.allowPartial = allowPartial
      self.selection = selection
      self.format = format
      self.zarrVersion = zarrVersion
      self.chunk = chunk
      self.linkObjects = linkObjects
      self.attributes = attributes
      self.workers = workers
      self.bandBytes = bandBytes
    }
  }

  /// Bytes of the output (uncompressed) written so far, of the total.
  public struct Progress: Equatable, Sendable {
    public var bytesDone: Int64
    public var bytesTotal: Int64
  }

  /// A block of the output that is NaN (`.npy`) or absent (Zarr) because its tile is missing.
  public struct MissingBlock: Codable, Equatable, Sendable {
    /// The missing tile's index.
    public var tile: Int
    /// Half-open output row and column ranges.
    public var rows: [Int]
    public var columns: [Int]
  }

  /// How the Zarr chunks were produced.
  public struct ChunkCounts: Codable, Equatable, Sendable {
    /// Compressed from the band (mirrored, diagonal, edge, re-chunked or converted).
    public var encoded = 0
    /// The stored object's zstd frame, copied.
    public var copied = 0
    /// The stored object's file, hard-linked.
    public var linked = 0
    /// Not written (every tile under them missing): read as NaN.
    public var absent = 0
  }

  /// What was written.
  public struct Report: Codable, Equatable, Sendable {
    /// The output file or directory.
    public var output: String
    public var format: OutputFormat
    /// Output rows (for the full matrix, n·m).
    public var dimension: Int
    public var rows: Int
    public var columns: Int
    /// Output dtype descr (`<f2`, `<f4`, `<f8`).
    public var dtype: String
    /// Bytes of the `.npy` file, or of the Zarr array's files.
    public var byteCount: Int
    /// Bytes of the matrix uncompressed (rows · columns · dtype size).
    public var matrixByteCount: Int
    /// Tiles under the selection that are not journaled (only with `allowPartial`).
    public var missingTiles: [Int]
    /// Where those tiles (and their transposes) fall in the output.
    public var missingBlocks: [MissingBlock]
    /// Zarr only.
    public var chunks: ChunkCounts?
    /// The resolved selection: sample ranges and classes.
    public var rowSamples: [Int]
    public var columnSamples: [Int]
    public var classes: [Int]
    /// The output's shape when it is not `[rows, columns]`: `[n, k, k]` for the diagonal kernel.
    public var shape: [Int]? = nil
    /// Leftover temporaries of earlier, interrupted assembles of this output, removed first.
    public var removedLeftovers: [String]
    /// Wall-clock seconds.
    public var seconds: Double
  }

  /// Assembles the whole matrix of `run` into the `.npy` file `output` (see `assemble(run:output:options:progress:)`).
  @discardableResult
  public static func assemble(run: RunDirectory, dtype: NpyDType, output: String, allowPartial: Bool = false) throws -> Report {
    try assemble(run: run, output: output, options: Options(dtype: dtype, allowPartial: allowPartial))
  }

  /// Largest Zarr chunk accepted, in bytes of one chunk at the wider of the run precision and the
  /// output dtype: a chunk is buffered whole per core and per band, so memory grows with its square.
  public static let maximumChunkBytes = 256 << 20

  /// `chunk` clamped to the array's extent (the larger of rows and columns, rounded up to a
  /// multiple of the classes kept: one chunk covers it all), then checked against `maximumChunkBytes`.
  ///
  /// - Throws: `CheckpointError` (`.badInput`) naming the largest chunk side allowed.
  static func boundedChunk(_ chunk: Int, selection: AssemblySelection.Resolved, bytesPerValue: Int) throws -> Int {
    let k = selection.classes.count
    let extent = (max(selection.rowCount, selection.columnCount) + k - 1) / k * k
    let side = min(chunk, extent)
    let values = maximumChunkBytes / bytesPerValue
    guard side * side <= values else {
      var largest = Int(Double(values).squareRoot()) / k * k
      while (largest + k) * (largest + k) <= values { largest += k }
      while largest * largest > values { largest -= k }
      throw CheckpointError(.badInput, "--chunk: \(Plural.count(chunk, "row")) and columns of \(bytesPerValue)-byte values is \(String(format: "%.1f", Double(side * side * bytesPerValue) / 1_048_576)) MiB per chunk, more than \(maximumChunkBytes >> 20) MiB; the largest allowed is \(largest)")
    }
    return side
  }

  /// The Zarr chunk side when `--chunk` is not given: one tile (`tileSide` = tileSamples · classes
  /// kept), clamped to the array's extent like `boundedChunk`, and, where a tile's chunk would pass
  /// `maximumChunkBytes` (a large `tileSamples: "auto"` tile: 2,987 samples a side is 3.6 GB in
  /// float32), the largest multiple of the classes kept within it instead of a refusal.
  static func defaultChunk(tileSide: Int, selection: AssemblySelection.Resolved, bytesPerValue: Int) -> Int {
    let k = selection.classes.count
    let extent = (max(selection.rowCount, selection.columnCount) + k - 1) / k * k
    let side = min(tileSide, extent)
    let values = maximumChunkBytes / bytesPerValue
    guard side * side > values else { return side }
    var largest = max(k, Int(Double(values).squareRoot()) / k * k)
    while largest > k && largest * largest > values { largest -= k }
    return largest
  }

  /// Assembles `run` into `output`.
  ///
  /// - Throws: `CheckpointError`: `.badInput` (not a run directory, unsupported dtype, a
  ///   selection or chunk that does not fit the run, a Zarr destination that is not a Zarr array),
  ///   `.incomplete` (tiles missing: how many, the first few), `.overflow` (values beyond the
  ///   dtype's finite range: how many; nothing written), `.damaged` (an object fails its hash),
  ///   `.failure` (a tile holds NaN or ±infinity, named; I/O, or not enough free space); and
  ///   whatever `progress` throws (a stop request): the output's temporary is then removed and
  ///   an existing output left as it was. `progress` is called after each band or chunk row, the
  ///   last time with `bytesDone == bytesTotal` before the output is committed.
  @discardableResult
  public static func assemble(run: RunDirectory, output: String, options: Options,
                              progress: (Progress) throws -> Void = { _ in }) throws -> Report {
    let start = Date()
    let dtype = options.dtype
    guard [.float16, .float32, .float64].contains(dtype) else {
      throw CheckpointError(.badInput, "\(output): output dtype must be float16, float32 or float64")
    }
    try run.requireExisting()
    let replay = try run.journal.replay()
    guard let identity = replay.identity else {
      throw CheckpointError(.incomplete, "\(run.path): no tile computed yet (the journal has no session header)")
    }
    let plan = try identity.plan()
    let selection = try options.selection.resolved(for: plan)
    let needed = neededTiles(plan: plan, selection: selection)
    let missing = needed.filter { replay.tiles[$0] == nil }
    if !missing.isEmpty && !options.allowPartial {
      let listed = missing.prefix(5).map { "\($0) (I=\(plan.tiles[$0].rowBlock), J=\(plan.tiles[$0].columnBlock))" }.joined(separator: ", ")
      throw CheckpointError(.incomplete, "\(run.path): \(missing.count) of \(Plural.count(needed.count, "tile")) are missing (first: \(listed)\(missing.count > 5 ? ", …" : "")); run `ntkbatch run` to finish, or assemble with --allow-partial")
    }
    for index in needed {
      guard let record = replay.tiles[index] else { continue }
      let tile = plan.tiles[index]
      guard record.rawByteCount == tile.rawByteCount, record.rowBlock == tile.rowBlock, record.columnBlock == tile.columnBlock else {
        throw CheckpointError(.damaged, "tile \(tile.index) (I=\(tile.rowBlock), J=\(tile.columnBlock)): journal record does not match the plan (\(Plural.count(record.rawByteCount, "byte")), expected \(tile.rawByteCount))")
      }
    }
    if plan.kernel == .diagonal {  // [n, k, k], not a square matrix
      return try OverflowHint.adding(to: identity, dtype: dtype) { try assembleDiagonal(run: run, plan: plan, selection: selection, records: replay.tiles, missing: missing,
                                  output: output, options: options, start: start, progress: progress) }
    }
    let k = selection.classes.count
    var options = options
    if options.format == .zarr, let chunk = options.chunk {
      guard chunk > 0, chunk % k == 0 else {
        throw CheckpointError(.badInput, "--chunk: expected a positive multiple of \(k) (the classes per sample), found \(chunk)")
      }
      options.chunk = try boundedChunk(chunk, selection: selection, bytesPerValue: max(plan.precision.byteSize, dtype.byteSize))
    } else if options.format == .zarr {
      options.chunk = defaultChunk(tileSide: plan.tileSamples * k, selection: selection,
                                   bytesPerValue: max(plan.precision.byteSize, dtype.byteSize))
    }
    let (removed, record, isNew) = try claimOutput(output, format: options.format, run: run)
    defer { AssemblyLeftovers.clear(record) }

    // Free space: the .npy's size, or the Zarr array's at the objects' compression ratio.
    let matrixBytes = Int64(selection.rowCount) * Int64(selection.columnCount) * Int64(dtype.byteSize)
    var neededBytes = matrixBytes + 4096
    if options.format == .zarr {
      let present = needed.compactMap { replay.tiles[$0] }
      let raw = present.reduce(0) { $0 + Double($1.rawByteCount) }
      let stored = present.reduce(0) { $0 + Double($1.storedByteCount) }
      neededBytes = Int64(Double(matrixBytes) * (raw > 0 ? min(1.05, stored / raw * 1.05) : 1)) + (1 << 20)
    }
    let folder = AtomicFile.directory(of: output)
    if let available = try? SystemFile.availableBytes(path: folder), available < neededBytes {
      let basis = options.format == .zarr ? " (the array at the tiles' compression ratio, plus 1 MiB for metadata and partly filled chunk files)" : ""
      throw CheckpointError(.failure, "\(output): not enough free space: the output needs about \(Plural.count(neededBytes, "byte"))\(basis), \(available) are available in \(folder)")
    }

    let filler = TileBandFiller(plan: plan, selection: selection, records: replay.tiles, store: run.objects,
                                workers: max(1, options.workers))
    var report = Report(output: output, format: options.format, dimension: selection.rowCount, rows: selection.rowCount,
                        columns: selection.columnCount, dtype: dtype.rawValue, byteCount: 0, matrixByteCount: Int(matrixBytes),
                        missingTiles: missing, missingBlocks: missingBlocks(missing, plan: plan, selection: selection), chunks: nil,
                        rowSamples: [selection.rows.lowerBound, selection.rows.upperBound],
                        columnSamples: [selection.columns.lowerBound, selection.columns.upperBound],
                        classes: selection.classes, removedLeftovers: removed, seconds: 0)
    switch options.format {
    case .npy:
      report.byteCount = try OverflowHint.adding(to: identity, dtype: dtype) { try writeNpy(filler: filler, output: output, dtype: dtype, bandBytes: options.bandBytes, exclusive: isNew, progress: progress) }
    case .zarr:
      let result = try OverflowHint.adding(to: identity, dtype: dtype) { try writeZarr(filler: filler, output: output, options: options, exclusive: isNew, progress: progress) }
      report.byteCount = result.bytes
      report.chunks = result.counts
    }
    report.seconds = Date().timeIntervalSince(start)
    return report
  }

  /// The tiles whose values (or transposes) fall in the selection, sorted by index (`diagonal`:
  /// the tiles of the row samples).
  /// Before writing `output`: refuses to replace anything but a Zarr array with a Zarr array,
  /// removes the leftovers of earlier, interrupted assembles of it, and records this assemble
  /// (`AssemblyLeftovers`) so that a kill leaves nothing `repair` cannot find. The caller clears
  /// the record when done. `isNew`: nothing is at `output` now, so the output is published
  /// exclusively (`SystemFile.publishExclusively`): if another process creates it meanwhile (two
  /// `assemble`s of one new output at once), this one fails naming it instead of replacing it.
  ///
  /// - Throws: `CheckpointError` (`.badInput`) for an existing non-Zarr `output` in Zarr format.
  static func claimOutput(_ output: String, format: OutputFormat, run: RunDirectory) throws -> (removed: [String], record: String?, isNew: Bool) {
    if format == .zarr {
      let existing = SystemFile.kind(of: output)
      if existing.exists && !(existing.isDirectory && ZarrArrayWriter.isZarrArray(output)) {
        throw CheckpointError(.badInput, "\(output): exists and is not a Zarr array (no zarr.json or .zarray); not replaced")
      }
    }
    let removed = try CheckpointError.wrapping { try OutputLeftovers.removeStale(for: output) } + AssemblyLeftovers.removeStale(run: run, output: output)
    return (removed, AssemblyLeftovers.record(run: run, output: output), !SystemFile.kind(of: output).exists)
  }

  static func neededTiles(plan: TilePlan, selection: AssemblySelection.Resolved) -> [Int] {
    if plan.kernel == .diagonal { return blocks(selection.rows, plan).map { $0 } }
    var indices = Set<Int>()
    for I in blocks(selection.rows, plan) {
      for J in blocks(selection.columns, plan) {
        if let stored = plan.storedTile(rowBlock: I, columnBlock: J) { indices.insert(stored.index) }
      }
    }
    return indices.sorted()
  }

  /// Block indices whose samples intersect `samples`.
  static func blocks(_ samples: Range<Int>, _ plan: TilePlan) -> Range<Int> {
    (samples.lowerBound / plan.tileSamples)..<((samples.upperBound - 1) / plan.tileSamples + 1)
  }

  /// Output blocks of missing tiles and their transposes, intersected with the selection.
  static func missingBlocks(_ missing: [Int], plan: TilePlan, selection: AssemblySelection.Resolved) -> [MissingBlock] {
    let k = selection.classes.count
    func clamp(_ a: Range<Int>, _ b: Range<Int>) -> Range<Int>? {
      let r = max(a.lowerBound, b.lowerBound)..<max(max(a.lowerBound, b.lowerBound), min(a.upperBound, b.upperBound))
      return r.isEmpty ? nil : r
    }
    var result: [MissingBlock] = []
    for index in missing {
      let tile = plan.tiles[index]
      var orientations = [(tile.rows, tile.columns)]
      if !tile.isDiagonal && !plan.isCross { orientations.append((tile.columns, tile.rows)) }
      for (rows, columns) in orientations {
        guard let r = clamp(rows, selection.rows), let c = clamp(columns, selection.columns) else { continue }
        let lr = selection.rows.lowerBound, lc = selection.columns.lowerBound
        result.append(MissingBlock(tile: index, rows: [(r.lowerBound - lr) * k, (r.upperBound - lr) * k],
                                   columns: [(c.lowerBound - lc) * k, (c.upperBound - lc) * k]))
      }
    }
    return result
  }

  // MARK: - .npy

  /// Bands of one tile block each (in windows of columns if wider than `bandBytes`); band b+1 is
  /// filled (and converted) while band b is written.
  private static func writeNpy(filler: TileBandFiller, output: String, dtype: NpyDType, bandBytes: Int, exclusive: Bool,
                               progress: (Progress) throws -> Void) throws -> Int {
    let selection = filler.selection
    let plan = filler.plan
    let writer = try CheckpointError.wrapping {
      try NpyDenseWriter(path: output, dtype: dtype, rows: selection.rowCount, columns: selection.columnCount, preallocate: true)
    }
    let bands = filler.tileBands()
    let columns = selection.columnCount
    let k = selection.classes.count
    let maxRows = bands.map { $0.count * k }.max() ?? 0
    let widest = max(plan.precision.byteSize, dtype.byteSize)
    let windows = TileBandFiller.windows(selection.columns, origin: 0, unit: plan.tileSamples,
                                         maximum: max(1, bandBytes / max(1, maxRows * k * widest)))
    let slotBytes = maxRows * (windows.map(\.count).max() ?? 0) * k * dtype.byteSize
    let slots = [UnsafeMutableRawPointer.allocate(byteCount: max(slotBytes, 1), alignment: 64),
                 UnsafeMutableRawPointer.allocate(byteCount: max(slotBytes, 1), alignment: 64)]
    let free = [DispatchSemaphore(value: 1), DispatchSemaphore(value: 1)]
    let queue = DispatchQueue(label: "ntkbatch.assemble.writer")
    let failure = FirstError()
    defer {
      for s in free { s.wait(); s.signal() }  // every queued write has finished
      slots.forEach { $0.deallocate() }
    }
    var overflow = 0
    var done: Int64 = 0
    var step = 0
    let total = Int64(selection.rowCount) * Int64(columns) * Int64(dtype.byteSize)
    do {
      for band in bands {
        for window in windows {
          let slot = step % 2
          step += 1
          free[slot].wait()
          if let error = failure.error { free[slot].signal(); throw error }
          do {
            overflow += try filler.fillConverted(band, window: window, dtype: dtype, into: slots[slot])
          } catch {
            free[slot].signal()
            throw error
          }
          let firstRow = (band.lowerBound - selection.rows.lowerBound) * k
          let firstColumn = (window.lowerBound - selection.columns.lowerBound) * k
          let (rows, width) = (band.count * k, window.count * k)
          let address = UInt(bitPattern: slots[slot])
          queue.async {
            defer { free[slot].signal() }
            guard failure.error == nil else { return }
            let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: address), count: rows * width * dtype.byteSize)
            do { try writer.writeBlock(bytes, firstRow: firstRow, firstColumn: firstColumn, columnCount: width) } catch { failure.record(error) }
          }
          done += Int64(rows * width * dtype.byteSize)
          try progress(Progress(bytesDone: done, bytesTotal: total))
        }
      }
      for s in free { s.wait(); s.signal() }
      if let error = failure.error { throw error }
      if overflow > 0 {
        throw CheckpointError(.overflow, "\(output): \(Plural.count(overflow, "value")) of the matrix are outside the finite range of \(dtype == .float16 ? "float16 (±65504)" : dtype.rawValue); nothing written.")
      }
      try CheckpointError.wrapping { try writer.commit(exclusive: exclusive) }
    } catch {
      for s in free { s.wait(); s.signal() }
      writer.abandon()
      throw (error as? StorageError).map(CheckpointError.init) ?? error
    }
    return writer.dataOffset + Int(total)
  }

  // MARK: - Zarr

  private static func writeZarr(filler: TileBandFiller, output: String, options: Options, exclusive: Bool,
                                progress: (Progress) throws -> Void) throws -> (bytes: Int, counts: ChunkCounts) {
    let selection = filler.selection
    let plan = filler.plan
    let k = selection.classes.count
    let dtype = options.dtype
    let chunk = options.chunk ?? defaultChunk(tileSide: plan.tileSamples * k, selection: selection,
                                              bytesPerValue: max(plan.precision.byteSize, dtype.byteSize))
    let writer = try CheckpointError.wrapping {
      try ZarrArrayWriter(path: output, format: options.zarrVersion, dtype: dtype, rows: selection.rowCount,
                          columns: selection.columnCount, chunkRows: chunk, chunkColumns: chunk, attributes: options.attributes)
    }
    // No recompression: chunk = tile, whole matrix, every class, run precision → an off-diagonal
    // full-size tile (I < J) *is* chunk (I, J): its object is that chunk's zstd frame.
    let samePrecision = (plan.precision == .float32 && dtype == .float32) || (plan.precision == .float64 && dtype == .float64)
    let direct = chunk == plan.tileSamples * plan.valuesPerSample && selection.allClasses && samePrecision
      && selection.rows == 0..<plan.sampleCount && selection.columns == 0..<plan.columnSampleCount
    func reusable(_ I: Int, _ J: Int) -> TileRecord? {
      guard direct, plan.isCross || I < J, let index = plan.index(rowBlock: I, columnBlock: J) else { return nil }
      let tile = plan.tiles[index]
      guard tile.rows.count == plan.tileSamples, tile.columns.count == plan.tileSamples else { return nil }
      return filler.records[index]
    }
    let samplesPerChunk = chunk / k
    let grid = writer.chunkGrid
    let counts = Counter()
    var done: Int64 = 0
    let total = Int64(selection.rowCount) * Int64(selection.columnCount) * Int64(dtype.byteSize)
    let columns = selection.columnCount
    do {
      let widest = max(plan.precision.byteSize, dtype.byteSize)
      let windows = TileBandFiller.windows(selection.columns, origin: selection.columns.lowerBound, unit: samplesPerChunk,
                                           maximum: max(1, options.bandBytes / max(1, chunk * k * widest)))
      for ci in 0..<grid.rows {
        let lower = selection.rows.lowerBound + ci * samplesPerChunk
        let band = lower..<min(selection.rows.upperBound, lower + samplesPerChunk)
        let rows = band.count * k
        for window in windows {
          var bandMissing = Set<BlockPair>()
          let values = try filler.fill(band, window: window, skip: { I, J in direct && reusable(I, J) != nil }, missing: &bandMissing)
          let firstChunk = (window.lowerBound - selection.columns.lowerBound) / samplesPerChunk
          let chunkCount = (window.count + samplesPerChunk - 1) / samplesPerChunk
          try filler.parallel(chunkCount) { w in
            let cj = firstChunk + w
            let columnSamples = (selection.columns.lowerBound + cj * samplesPerChunk)..<min(selection.columns.upperBound, selection.columns.lowerBound + (cj + 1) * samplesPerChunk)
            // Chunk (ci, cj) is tile (I, J) exactly in the direct case.
            if direct, let stored = reusable(ci, cj) {
              let linked = try TileObjectRead.reading(plan.tiles[stored.index], object: stored.object, in: filler.store) {
                try writer.placeFrame(ci, cj, from: filler.store.path(for: stored.object), link: options.linkObjects)
              }
              counts.add(linked ? \.linked : \.copied)
              return
            }
            let pairs = blocks(band, plan).flatMap { I in blocks(columnSamples, plan).map { BlockPair(row: I, column: $0) } }
            if pairs.allSatisfy({ bandMissing.contains($0) }) {
              counts.add(\.absent)
              return
            }
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: writer.chunkByteCount, alignment: 64)
            defer { buffer.deallocate() }
            let overflow = values.convertChunk(rows: rows, bandColumns: window.count * k, firstColumn: w * chunk,
                                               columns: min(chunk, columns - cj * chunk), chunk: chunk, dtype: dtype, into: buffer)
            counts.overflow(overflow)
            _ = try CheckpointError.wrapping {
              try writer.writeChunk(ci, cj, raw: UnsafeRawBufferPointer(start: buffer, count: writer.chunkByteCount))
            }
            counts.add(\.encoded)
          }
        }
        done += Int64(rows) * Int64(selection.columnCount) * Int64(dtype.byteSize)
        try progress(Progress(bytesDone: done, bytesTotal: total))
      }
      if counts.overflowCount > 0 {
        throw CheckpointError(.overflow, "\(output): \(Plural.count(counts.overflowCount, "value")) of the matrix are outside the finite range of \(dtype == .float16 ? "float16 (±65504)" : dtype.rawValue); nothing written.")
      }
      try CheckpointError.wrapping { try writer.commit(exclusive: exclusive) }
    } catch {
      writer.abandon()
      throw (error as? StorageError).map(CheckpointError.init) ?? error
    }
    return (directoryBytes(output), counts.counts)
  }

  /// Total size of the files under `directory`.
  private static func directoryBytes(_ directory: String) -> Int {
    guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return 0 }
    var total = 0
    while let name = enumerator.nextObject() as? String {
      if let size = (enumerator.fileAttributes?[.size] as? NSNumber)?.intValue,
         enumerator.fileAttributes?[.type] as? FileAttributeType == .typeRegular {
        total += size
      }
      _ = name
    }
    return total
  }
}

/// Chunk counts and overflow, updated from several threads.
private final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private(set) var counts = TileAssembler.ChunkCounts()
  private var overflowTotal = 0

  var overflowCount: Int { lock.lock(); defer { lock.unlock() }; return overflowTotal }

  func add(_ field: WritableKeyPath<TileAssembler.ChunkCounts, Int>) {
    lock.lock()
    counts[keyPath: field] += 1
    lock.unlock()
  }

  func overflow(_ count: Int) {
    guard count > 0 else { return }
    lock.lock()
    overflowTotal += count
    lock.unlock()
  }
}
