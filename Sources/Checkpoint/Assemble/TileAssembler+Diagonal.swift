import Foundation
import Storage

extension TileAssembler {
  /// The `diagonal` kernel's output: the blocks k(x_i, x_i) of the selected samples as one
  /// `[n_sel, k, k]` array (k classes kept; element `[i − A, a′, b′]` is
  /// `G[i·m + classes[a′], i·m + classes[b′]]`), `.npy` (C order) or Zarr (chunks of `chunk / k`
  /// samples, `[chunk / k, k, k]`, keys `c/i/0/0`; default one tile of samples per chunk).
  ///
  /// The whole array is gathered in memory (`n·k²` values: 58 MB in float64 for n = 73,257), every
  /// tile decompressed, re-hashed (`ObjectStore.read`) and checked finite, then converted and
  /// written atomically like the square outputs. Missing tiles (with `allowPartial`) are NaN
  /// (`.npy`) or absent chunks (Zarr, when every sample of the chunk is missing).
  ///
  /// - Throws: `CheckpointError` (`.badInput` for different row and column samples; otherwise as
  ///   `assemble(run:output:options:progress:)`).
  static func assembleDiagonal(run: RunDirectory, plan: TilePlan, selection: AssemblySelection.Resolved,
                               records: [Int: TileRecord], missing: [Int], output: String, options: Options,
                               start: Date, progress: (Progress) throws -> Void) throws -> Report {
    guard selection.rows == selection.columns else {
      throw CheckpointError(.badInput, "--samples: the diagonal kernel holds only the blocks k(x_i, x_i): give one range A:B, not \(selection.rows.lowerBound):\(selection.rows.upperBound),\(selection.columns.lowerBound):\(selection.columns.upperBound)")
    }
    let dtype = options.dtype
    let m = plan.outputsPerSample
    let k = selection.classes.count
    let samples = selection.rows
    let n = samples.count
    let perSample = k * k
    // Samples per Zarr chunk: --chunk counts rows of the [n·k, k] view, a multiple of k.
    let chunkSamples = max(1, min(n, (options.chunk ?? plan.tileSamples * k) / k))
    let chunkValues = chunkSamples * perSample
    guard chunkValues * max(plan.precision.byteSize, dtype.byteSize) <= maximumChunkBytes else {
      throw CheckpointError(.badInput, "--chunk: \(Plural.count(options.chunk ?? 0, "row")) is \(Plural.count(chunkSamples, "sample")) of \(k) × \(Plural.count(k, "value")) per chunk, more than \(maximumChunkBytes >> 20) MiB")
    }
    let (removed, record, isNew) = try claimOutput(output, format: options.format, run: run)
    defer { AssemblyLeftovers.clear(record) }
    let matrixBytes = Int64(n) * Int64(perSample) * Int64(dtype.byteSize)
    let folder = AtomicFile.directory(of: output)
    if let available = try? SystemFile.availableBytes(path: folder), available < matrixBytes + (1 << 20) {
      throw CheckpointError(.failure, "\(output): not enough free space: the output needs about \(Plural.count(matrixBytes + (1 << 20), "byte")), \(available) are available in \(folder)")
    }

    // Gather: values[(i − A)·k² + a′·k + b′], NaN where the tile is missing.
    var values = [Double](repeating: .nan, count: n * perSample)
    var present = [Bool](repeating: false, count: n)
    for tile in plan.tiles where tile.rows.overlaps(samples) {
      guard let stored = records[tile.index] else { continue }
      let raw = try TileObjectRead.reading(tile, object: stored.object, in: run.objects) { try run.objects.read(stored.object, rawByteCount: stored.rawByteCount) }
      let tileValues: [Double] = raw.withUnsafeBytes { bytes in
        plan.precision == .float32 ? bytes.bindMemory(to: Float.self).map(Double.init) : Array(bytes.bindMemory(to: Double.self))
      }
      if let bad = tileValues.firstIndex(where: { !$0.isFinite }) {
        let count = tileValues.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        throw CheckpointError(.failure, "tile \(tile.index) (I=\(tile.rowBlock), J=\(tile.columnBlock)): \(count) of its \(Plural.count(tileValues.count, "value")) are NaN or ±infinity (first at sample \(tile.rows.lowerBound + bad / (m * m)), classes \(bad % (m * m) / m), \(bad % m)); the computation produced them (check the weights and inputs); nothing written")
      }
      for i in tile.rows where samples.contains(i) {
        let from = (i - tile.rows.lowerBound) * m * m
        let to = (i - samples.lowerBound) * perSample
        for (x, a) in selection.classes.enumerated() {
          for (y, b) in selection.classes.enumerated() { values[to + x * k + y] = tileValues[from + a * m + b] }
        }
        present[i - samples.lowerBound] = true
      }
    }

    var report = Report(output: output, format: options.format, dimension: n, rows: n, columns: perSample, dtype: dtype.rawValue,
                        byteCount: 0, matrixByteCount: Int(matrixBytes), missingTiles: missing,
                        missingBlocks: missing.map { index in
                          let rows = plan.tiles[index].rows.clamped(to: samples)
                          return MissingBlock(tile: index, rows: [rows.lowerBound - samples.lowerBound, rows.upperBound - samples.lowerBound],
                                              columns: [0, k])
                        },
                        chunks: nil, rowSamples: [samples.lowerBound, samples.upperBound],
                        columnSamples: [samples.lowerBound, samples.upperBound], classes: selection.classes,
                        removedLeftovers: removed, seconds: 0)
    let total = Int64(n) * Int64(perSample) * Int64(dtype.byteSize)
    switch options.format {
    case .npy:
      let converted = UnsafeMutableRawPointer.allocate(byteCount: max(1, n * perSample * dtype.byteSize), alignment: 64)
      defer { converted.deallocate() }
      let overflow = values.withUnsafeBufferPointer { BandValues.convert($0.baseAddress!, count: n * perSample, dtype: dtype, into: converted) }
      guard overflow == 0 else { throw overflowError(overflow, output: output, dtype: dtype) }
      let writer = try CheckpointError.wrapping {
        try NpyDenseWriter(path: output, dtype: dtype, rows: n, columns: perSample, preallocate: true, shape: [n, k, k])
      }
      do {
        try CheckpointError.wrapping {
          try writer.writeRows(UnsafeRawBufferPointer(start: converted, count: n * perSample * dtype.byteSize), firstRow: 0)
          try writer.commit(exclusive: isNew)
        }
      } catch {
        writer.abandon()
        throw error
      }
      report.byteCount = writer.dataOffset + Int(total)
    case .zarr:
      let writer = try CheckpointError.wrapping {
        try ZarrArrayWriter(path: output, format: options.zarrVersion, dtype: dtype, rows: n, columns: perSample,
                            chunkRows: chunkSamples, chunkColumns: perSample, attributes: options.attributes, blockSide: k)
      }
      var counts = ChunkCounts()
      do {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: writer.chunkByteCount, alignment: 64)
        defer { buffer.deallocate() }
        var chunk = [Double](repeating: .nan, count: chunkValues)
        for ci in 0..<writer.chunkGrid.rows {
          let first = ci * chunkSamples, last = min(n, first + chunkSamples)
          guard present[first..<last].contains(true) else { counts.absent += 1; continue }
          for x in 0..<chunkValues { chunk[x] = .nan }  // edge chunks are padded with the fill value
          for x in 0..<((last - first) * perSample) { chunk[x] = values[first * perSample + x] }
          let overflow = chunk.withUnsafeBufferPointer { BandValues.convert($0.baseAddress!, count: chunkValues, dtype: dtype, into: buffer) }
          guard overflow == 0 else { throw overflowError(overflow, output: output, dtype: dtype) }
          _ = try CheckpointError.wrapping { try writer.writeChunk(ci, 0, raw: UnsafeRawBufferPointer(start: buffer, count: writer.chunkByteCount)) }
          counts.encoded += 1
          try progress(Progress(bytesDone: Int64(last) * Int64(perSample * dtype.byteSize), bytesTotal: total))
        }
        try CheckpointError.wrapping { try writer.commit(exclusive: isNew) }
      } catch {
        writer.abandon()
        throw (error as? StorageError).map(CheckpointError.init) ?? error
      }
      report.chunks = counts
      report.byteCount = diagonalDirectoryBytes(output)
    }
    try progress(Progress(bytesDone: total, bytesTotal: total))
    report.shape = [n, k, k]
    report.seconds = Date().timeIntervalSince(start)
    return report
  }

  private static func overflowError(_ count: Int, output: String, dtype: NpyDType) -> CheckpointError {
    CheckpointError(.overflow, "\(output): \(Plural.count(count, "value")) of the matrix are outside the finite range of \(dtype == .float16 ? "float16 (±65504)" : dtype.rawValue); nothing written.")
  }

  private static func diagonalDirectoryBytes(_ directory: String) -> Int {
    guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return 0 }
    var total = 0
    while enumerator.nextObject() != nil {
      if enumerator.fileAttributes?[.type] as? FileAttributeType == .typeRegular,
         let size = (enumerator.fileAttributes?[.size] as? NSNumber)?.intValue { total += size }
    }
    return total
  }
}
