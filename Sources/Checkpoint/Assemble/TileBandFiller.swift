import Dispatch
import Foundation
import Storage

/// A (row block, column block) pair of the tile grid; (I, J) with I > J is the transpose of tile (J, I)
/// (in a cross plan every pair is its own tile).
struct BlockPair: Hashable, Sendable {
  var row: Int
  var column: Int
}

/// The rows of an assembled output for one range of samples ("band"), filled from tiles.
///
/// A band of samples `band` (within the selection's rows) is the output rows
/// `(band − A)·k …` for the k selected classes, across a window of the selected column samples
/// `window` (all of them when the band is small enough): `[band.count·k, window.count·k]`,
/// row-major, in the run precision. For each block pair (I, J) the band crosses,
/// the tile (min, max) is read from the object store — decompressed, re-hashed, its diagonal
/// mirrored (lower triangle from the upper), checked for NaN/±infinity — and its values for the
/// selected samples and classes copied in, transposed when I > J (blocked 32 × 32 so both sides
/// stay in cache). Tiles are placed on `workers` threads; each writes a disjoint part of the band.
final class TileBandFiller: @unchecked Sendable {
  let plan: TilePlan
  let selection: AssemblySelection.Resolved
  let records: [Int: TileRecord]
  let store: ObjectStore
  let workers: Int

  private var scratch: UnsafeMutableRawPointer?
  private var scratchBytes = 0

  init(plan: TilePlan, selection: AssemblySelection.Resolved, records: [Int: TileRecord], store: ObjectStore, workers: Int) {
    self.plan = plan
    self.selection = selection
    self.records = records
    self.store = store
    self.workers = workers
  }

  deinit { scratch?.deallocate() }

  /// The selection's row samples cut at tile block boundaries.
  func tileBands() -> [Range<Int>] {
    let t = plan.tileSamples
    return TileAssembler.blocks(selection.rows, plan).map { I in
      max(I * t, selection.rows.lowerBound)..<min((I + 1) * t, selection.rows.upperBound)
    }
  }

  /// Runs `body(0..<count)` on up to `workers` threads; rethrows the first error.
  func parallel(_ count: Int, _ body: (Int) throws -> Void) throws {
    if workers <= 1 || count <= 1 {
      for i in 0..<count { try body(i) }
      return
    }
    let failure = FirstError()
    DispatchQueue.concurrentPerform(iterations: count) { i in
      guard failure.error == nil else { return }
      do { try body(i) } catch { failure.record(error) }
    }
    if let error = failure.error { throw error }
  }

  /// Splits `samples` at multiples of `unit` counted from `origin` into windows of at most
  /// `maximum` samples (at least one unit each).
  static func windows(_ samples: Range<Int>, origin: Int, unit: Int, maximum: Int) -> [Range<Int>] {
    var cuts = [samples.lowerBound]
    var next = origin + ((samples.lowerBound - origin) / unit + 1) * unit
    while next < samples.upperBound {
      cuts.append(next)
      next += unit
    }
    cuts.append(samples.upperBound)
    var result: [Range<Int>] = []
    var start = cuts[0]
    for k in 1..<cuts.count {
      if cuts[k] - start > maximum && cuts[k - 1] > start {
        result.append(start..<cuts[k - 1])
        start = cuts[k - 1]
      }
    }
    result.append(start..<samples.upperBound)
    return result
  }

  /// Fills `band` × `window` and writes it, converted to `dtype`, at `destination`
  /// (`[rows, window columns]`, little-endian). Returns how many finite values overflowed `dtype`.
  func fillConverted(_ band: Range<Int>, window: Range<Int>, dtype: NpyDType, into destination: UnsafeMutableRawPointer) throws -> Int {
    switch plan.precision {
    case .float32: return try fillConverted(Float.self, band, window, dtype: dtype, into: destination)
    case .float64: return try fillConverted(Double.self, band, window, dtype: dtype, into: destination)
    }
  }

  /// Fills `band` × `window` into a scratch buffer (valid until the next call) and returns it.
  ///
  /// - Parameters:
  ///   - skip: block pairs not to place (Zarr chunks taken from the objects as they are).
  ///   - missing: receives the block pairs whose tile is not journaled (NaN in the band).
  func fill(_ band: Range<Int>, window: Range<Int>, skip: (Int, Int) -> Bool, missing: inout Set<BlockPair>) throws -> BandValues {
    let count = band.count * selection.classes.count * window.count * selection.classes.count
    missing = missingPairs(band, window)
    switch plan.precision {
    case .float32:
      let values = scratchBuffer(Float.self, count: count)
      try fill(band, window, into: values.baseAddress!, skip: skip)
      return .float(values)
    case .float64:
      let values = scratchBuffer(Double.self, count: count)
      try fill(band, window, into: values.baseAddress!, skip: skip)
      return .double(values)
    }
  }

  private func missingPairs(_ band: Range<Int>, _ window: Range<Int>) -> Set<BlockPair> {
    var missing = Set<BlockPair>()
    for I in TileAssembler.blocks(band, plan) {
      for J in TileAssembler.blocks(window, plan) {
        if let stored = plan.storedTile(rowBlock: I, columnBlock: J), records[stored.index] == nil {
          missing.insert(BlockPair(row: I, column: J))
        }
      }
    }
    return missing
  }

  private func scratchBuffer<S>(_ type: S.Type, count: Int) -> UnsafeMutableBufferPointer<S> {
    let bytes = max(count * MemoryLayout<S>.stride, 1)
    if scratchBytes < bytes {
      scratch?.deallocate()
      scratch = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
      scratchBytes = bytes
    }
    return UnsafeMutableBufferPointer(start: scratch!.bindMemory(to: S.self, capacity: count), count: count)
  }

  private func fillConverted<S: BinaryFloatingPoint>(_ type: S.Type, _ band: Range<Int>, _ window: Range<Int>, dtype: NpyDType,
                                                     into destination: UnsafeMutableRawPointer) throws -> Int {
    let count = band.count * selection.classes.count * window.count * selection.classes.count
    if (S.self == Float.self && dtype == .float32) || (S.self == Double.self && dtype == .float64) {
      try fill(band, window, into: destination.bindMemory(to: S.self, capacity: count), skip: { _, _ in false })
      return 0
    }
    let values = scratchBuffer(S.self, count: count)
    try fill(band, window, into: values.baseAddress!, skip: { _, _ in false })
    // Convert in `workers` contiguous parts.
    let parts = max(1, min(workers, count))
    var overflow = [Int](repeating: 0, count: parts)
    try overflow.withUnsafeMutableBufferPointer { totals in
      try parallel(parts) { p in
        let lower = count * p / parts, upper = count * (p + 1) / parts
        totals[p] = BandValues.convert(UnsafePointer(values.baseAddress! + lower), count: upper - lower, dtype: dtype,
                                       into: destination + lower * dtype.byteSize)
      }
    }
    return overflow.reduce(0, +)
  }

  private func fill<S: BinaryFloatingPoint>(_ band: Range<Int>, _ window: Range<Int>, into out: UnsafeMutablePointer<S>,
                                            skip: (Int, Int) -> Bool) throws {
    var tasks: [BlockPair] = []
    for I in TileAssembler.blocks(band, plan) {
      for J in TileAssembler.blocks(window, plan) where !skip(I, J) {
        tasks.append(BlockPair(row: I, column: J))
      }
    }
    try parallel(tasks.count) { try place(tasks[$0], band: band, window: window, into: out) }
  }

  /// Copies the values of block pair `pair` for the band's and window's samples into `out`.
  private func place<S: BinaryFloatingPoint>(_ pair: BlockPair, band: Range<Int>, window: Range<Int>,
                                             into out: UnsafeMutablePointer<S>) throws {
    let m = plan.valuesPerSample
    let k = selection.classes.count
    let t = plan.tileSamples
    let n = plan.sampleCount
    let bandColumns = window.count * k
    let rowSamples = TilePlan.samples(ofBlock: pair.row, sampleCount: n, tileSamples: t).clamped(to: band)
    let columnSamples = TilePlan.samples(ofBlock: pair.column, sampleCount: plan.columnSampleCount, tileSamples: t).clamped(to: window)
    let outRow0 = (rowSamples.lowerBound - band.lowerBound) * k
    let outColumn0 = (columnSamples.lowerBound - window.lowerBound) * k
    let outRows = rowSamples.count * k
    let outColumns = columnSamples.count * k
    let (index, transposed) = plan.storedTile(rowBlock: pair.row, columnBlock: pair.column)!
    let tile = plan.tiles[index]
    guard let record = records[index] else {
      for r in 0..<outRows { (out + (outRow0 + r) * bandColumns + outColumn0).initialize(repeating: .nan, count: outColumns) }
      return
    }
    var values = try load(S.self, tile, record)
    let width = tile.columns.count * m
    // Band row sample i is stored row (direct) or column (transposed) (i − base)·m + class.
    let rowBase = transposed ? tile.columns.lowerBound : tile.rows.lowerBound
    let columnBase = transposed ? tile.rows.lowerBound : tile.columns.lowerBound
    values.withUnsafeMutableBytes { $0.withMemoryRebound(to: S.self) { typed in
      let source = UnsafePointer(typed.baseAddress!)
      if selection.allClasses {
        let p0 = (rowSamples.lowerBound - rowBase) * m
        let q0 = (columnSamples.lowerBound - columnBase) * m
        if !transposed {
          for r in 0..<outRows {
            (out + (outRow0 + r) * bandColumns + outColumn0).initialize(from: source + (p0 + r) * width + q0, count: outColumns)
          }
        } else {
          // out(r, c) = stored(q0 + c, p0 + r), in 32 × 32 blocks.
          let block = 32
          var r0 = 0
          while r0 < outRows {
            let r1 = min(r0 + block, outRows)
            var c0 = 0
            while c0 < outColumns {
              let c1 = min(c0 + block, outColumns)
              for c in c0..<c1 {
                let from = source + (q0 + c) * width + p0
                let to = out + outRow0 * bandColumns + outColumn0 + c
                for r in r0..<r1 { to[r * bandColumns] = from[r] }
              }
              c0 = c1
            }
            r0 = r1
          }
        }
      } else {
        let classes = selection.classes
        let rowIndex = (0..<outRows).map { x in (rowSamples.lowerBound + x / k - rowBase) * m + classes[x % k] }
        let columnIndex = (0..<outColumns).map { x in (columnSamples.lowerBound + x / k - columnBase) * m + classes[x % k] }
        for r in 0..<outRows {
          let to = out + (outRow0 + r) * bandColumns + outColumn0
          if transposed {
            for c in 0..<outColumns { to[c] = source[columnIndex[c] * width + rowIndex[r]] }
          } else {
            let from = source + rowIndex[r] * width
            for c in 0..<outColumns { to[c] = from[columnIndex[c]] }
          }
        }
      }
    } }
  }

  /// The tile's values: decompressed and re-hashed (`ObjectStore.read`), the diagonal tile's lower
  /// triangle mirrored from its upper one, and every value checked to be finite. The raw bytes
  /// are used in place as `S` values (array storage is 16-byte aligned), without a copy.
  private func load<S: BinaryFloatingPoint>(_ type: S.Type, _ tile: Tile, _ record: TileRecord) throws -> [UInt8] {
    let m = plan.valuesPerSample
    var values = try TileObjectRead.reading(tile, object: record.object, in: store) { try store.read(record.object, rawByteCount: record.rawByteCount) }
    let count = values.count / MemoryLayout<S>.size
    let width = tile.columns.count * m
    let height = tile.rows.count * m
    var nonFinite = 0
    var first = -1
    values.withUnsafeMutableBytes { $0.withMemoryRebound(to: S.self) { v in
      if tile.isDiagonal {
        for r in 1..<max(height, 1) { for c in 0..<r { v[r * width + c] = v[c * width + r] } }
      }
      for i in 0..<count { nonFinite &+= v[i].isFinite ? 0 : 1 }  // branch-free: vectorises
      if nonFinite > 0 { first = v.firstIndex { !$0.isFinite } ?? 0 }
    } }
    if nonFinite > 0 {
      throw CheckpointError(.failure, "tile \(tile.index) (I=\(tile.rowBlock), J=\(tile.columnBlock)): \(nonFinite) of its \(Plural.count(count, "value")) are NaN or ±infinity (first at matrix row \(tile.rows.lowerBound * m + first / width), column \(tile.columns.lowerBound * m + first % width)); the computation produced them (check the weights and inputs); nothing written")
    }
    return values
  }
}
