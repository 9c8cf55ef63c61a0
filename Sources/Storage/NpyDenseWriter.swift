import Foundation

/// Writes a large 2-D `.npy` array block by block, never holding the whole array in memory.
///
/// The file is `NpyHeader(dtype:shape: [rows, columns])` (format 1.0, C order, data starting at a
/// multiple of 64 bytes) followed by `rows × columns` little-endian elements; element `(r, c)` is
/// at byte `dataOffset + (r·columns + c)·dtype.byteSize`. Blocks of `Float` or `Double` values are
/// converted to the output dtype (`float16` via Swift's `Float16`, round-to-nearest-even) and
/// written row segment by row segment with `pwrite`, optionally transposed (to mirror the upper
/// triangle of a symmetric matrix into the lower one).
///
/// The array is written under a temporary name in the destination's directory; `commit()` syncs
/// it and renames it into place (then syncs the directory), `abandon()` deletes it. Finite values
/// that do not fit the output dtype (|x| above 65504 for float16) are counted in `overflowCount`.
///
/// Source: NumPy NEP 1, "A simple file format for NumPy arrays".
public final class NpyDenseWriter: @unchecked Sendable {
  /// The final path of the array.
  public let path: String
  /// Where the array is written until `commit()`.
  public let temporaryPath: String
  /// Output element type: `.float16`, `.float32` or `.float64`.
  public let dtype: NpyDType
  /// Array shape `[rows, columns]`.
  public let rows: Int
  public let columns: Int
  /// Byte offset of element (0, 0).
  public let dataOffset: Int
  /// How many finite values written so far became ±infinity in `dtype` (overflow).
  public private(set) var overflowCount = 0

  private let file: SystemFile
  private var finished = false
  private var rowBuffer: [UInt8] = []

  /// Creates the temporary file: header, then `rows·columns·dtype.byteSize` zero bytes (sparse,
  /// or with `preallocate` reserved on disk with `posix_fallocate`, so a full disk fails at once
  /// and the data is laid out contiguously).
  ///
  /// - Throws: `StorageError` (`.badInput`) for a dtype other than float16/32/64 or a negative
  ///   shape; (`.ioFailure`) when the file cannot be created or sized (ENOSPC, …).
  ///   `shape`: the header's shape when it is not `[rows, columns]` (e.g. `[n, k, k]` for
  ///   `rows` n and `columns` k², C order, the same bytes); its product must be `rows·columns`.
  public init(path: String, dtype: NpyDType, rows: Int, columns: Int, preallocate: Bool = false, shape: [Int]? = nil) throws {
    guard [.float16, .float32, .float64].contains(dtype) else {
      throw StorageError(path: path, "dense output dtype must be float16, float32 or float64, not \(dtype.rawValue)")
    }
    guard rows >= 0, columns >= 0 else { throw StorageError(path: path, "negative shape [\(rows), \(columns)]") }
    self.path = path
    self.dtype = dtype
    self.rows = rows
    self.columns = columns
    self.temporaryPath = AtomicFile.temporaryPath(for: path)
    if let shape, shape.reduce(1, *) != rows * columns {
      throw StorageError(path: path, "shape \(shape) does not hold [\(rows), \(columns)] values")
    }
    let header = NpyHeader(dtype: dtype, shape: shape ?? [rows, columns]).encoded()
    self.dataOffset = header.count
    file = try SystemFile.create(path: temporaryPath)
    do {
      try file.writeAll(header)
      try file.resize(to: Int64(header.count) + Int64(rows) * Int64(columns) * Int64(dtype.byteSize))
      if preallocate {
        try file.allocate(byteCount: Int64(header.count) + Int64(rows) * Int64(columns) * Int64(dtype.byteSize))
      }
    } catch {
      try? file.close()
      try? SystemFile.remove(path: temporaryPath, ignoreMissing: true)
      throw error
    }
  }

  deinit {
    if !finished { abandon() }
  }

  /// Writes the row-major block `values` of shape `[blockRows, blockColumns]` with its element
  /// (0, 0) at array position (`row`, `column`); if `transposed`, writes its transpose
  /// (shape `[blockColumns, blockRows]`) there instead.
  ///
  /// - Throws: `StorageError` (`.badInput`) when the block does not fit the array or `values`
  ///   has the wrong count; (`.ioFailure`) when `pwrite` fails.
  public func write(_ values: UnsafeBufferPointer<Double>, blockRows: Int, blockColumns: Int, row: Int, column: Int, transposed: Bool = false) throws {
    try writeBlock(values, blockRows: blockRows, blockColumns: blockColumns, row: row, column: column, transposed: transposed)
  }

  /// `Float` version of `write(_:blockRows:blockColumns:row:column:transposed:)`.
  public func write(_ values: UnsafeBufferPointer<Float>, blockRows: Int, blockColumns: Int, row: Int, column: Int, transposed: Bool = false) throws {
    try writeBlock(values, blockRows: blockRows, blockColumns: blockColumns, row: row, column: column, transposed: transposed)
  }

  /// Writes whole rows: `bytes` holds rows `firstRow…` of the array, already in `dtype`
  /// (little-endian, C order), as one `pwrite` — the array's rows are contiguous in the file.
  /// Safe to call from several threads for different rows.
  ///
  /// - Throws: `StorageError` (`.badInput`) when the rows do not fit the array; (`.ioFailure`)
  ///   when `pwrite` fails.
  public func writeRows(_ bytes: UnsafeRawBufferPointer, firstRow: Int) throws {
    let rowBytes = columns * dtype.byteSize
    guard rowBytes > 0, bytes.count % rowBytes == 0, firstRow >= 0, firstRow + bytes.count / rowBytes <= rows else {
      throw StorageError(path: path, "\(Plural.count(bytes.count, "byte")) at row \(firstRow) are not whole rows of the array [\(rows), \(columns)]")
    }
    try file.writeAll(bytes, atOffset: Int64(dataOffset) + Int64(firstRow) * Int64(rowBytes))
  }

  /// Writes a block of whole-width or partial rows: `bytes` holds `[rows, columnCount]` values in
  /// `dtype` (C order) for array rows `firstRow…`, columns `firstColumn…`; one `pwrite` when the
  /// block spans every column (rows are contiguous in the file), else one per row. Safe to call
  /// from several threads for disjoint blocks.
  public func writeBlock(_ bytes: UnsafeRawBufferPointer, firstRow: Int, firstColumn: Int, columnCount: Int) throws {
    if firstColumn == 0 && columnCount == columns { return try writeRows(bytes, firstRow: firstRow) }
    let segment = columnCount * dtype.byteSize
    guard segment > 0, bytes.count % segment == 0, firstRow >= 0, firstColumn >= 0, firstColumn + columnCount <= columns,
          firstRow + bytes.count / segment <= rows else {
      throw StorageError(path: path, "block of \(Plural.count(bytes.count, "byte")) at (\(firstRow), \(firstColumn)) does not fit the array [\(rows), \(columns)]")
    }
    for r in 0..<(bytes.count / segment) {
      let offset = Int64(dataOffset) + (Int64(firstRow + r) * Int64(columns) + Int64(firstColumn)) * Int64(dtype.byteSize)
      try file.writeAll(UnsafeRawBufferPointer(rebasing: bytes[(r * segment)..<((r + 1) * segment)]), atOffset: offset)
    }
  }

  /// Syncs the array and atomically renames it to `path`, then syncs the directory.
  ///
  /// - Parameter exclusive: `path` is a new output: publish it only if nothing has taken the name
  ///   meanwhile (`SystemFile.publishExclusively`), so of two writers of one new output exactly
  ///   one succeeds; `false` replaces whatever is at `path`.
  /// - Throws: `StorageError` (`.destinationExists` naming `path`, `.ioFailure`); the temporary
  ///   file is removed.
  public func commit(exclusive: Bool = false) throws {
    guard !finished else { return }
    finished = true
    do {
      try file.sync()
      try file.close()
      if exclusive {
        try SystemFile.publishExclusively(from: temporaryPath, to: path)
      } else {
        try SystemFile.rename(from: temporaryPath, to: path)
      }
      try SystemFile.syncDirectory(path: AtomicFile.directory(of: path))
    } catch {
      try? SystemFile.remove(path: temporaryPath, ignoreMissing: true)
      throw error
    }
  }

  /// Closes and deletes the temporary file; `path` is left untouched.
  public func abandon() {
    guard !finished else { return }
    finished = true
    try? file.close()
    try? SystemFile.remove(path: temporaryPath, ignoreMissing: true)
  }

  private func writeBlock<Source: BinaryFloatingPoint>(_ values: UnsafeBufferPointer<Source>, blockRows: Int, blockColumns: Int, row: Int, column: Int, transposed: Bool) throws {
    guard values.count == blockRows * blockColumns else {
      throw StorageError(path: path, "block has \(Plural.count(values.count, "value")), expected \(blockRows)×\(blockColumns)")
    }
    let outRows = transposed ? blockColumns : blockRows
    let outColumns = transposed ? blockRows : blockColumns
    guard row >= 0, column >= 0, row + outRows <= rows, column + outColumns <= columns else {
      throw StorageError(path: path, "block [\(outRows), \(outColumns)] at (\(row), \(column)) does not fit the array [\(rows), \(columns)]")
    }
    let segmentBytes = outColumns * dtype.byteSize
    if rowBuffer.count < segmentBytes { rowBuffer = [UInt8](repeating: 0, count: segmentBytes) }
    // Element (r, c) of the output block is values[r·stride + c·step].
    let stride = transposed ? 1 : blockColumns
    let step = transposed ? blockColumns : 1
    var overflow = 0
    for r in 0..<outRows {
      try rowBuffer.withUnsafeMutableBytes { buffer in
        switch dtype {
        case .float16:
          overflow += Self.convert(values, start: r * stride, step: step, count: outColumns, into: buffer.bindMemory(to: Float16.self))
        case .float32:
          overflow += Self.convert(values, start: r * stride, step: step, count: outColumns, into: buffer.bindMemory(to: Float.self))
        default:
          overflow += Self.convert(values, start: r * stride, step: step, count: outColumns, into: buffer.bindMemory(to: Double.self))
        }
        let offset = Int64(dataOffset) + (Int64(row + r) * Int64(columns) + Int64(column)) * Int64(dtype.byteSize)
        try file.writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<segmentBytes]), atOffset: offset)
      }
    }
    overflowCount += overflow
  }

  /// Converts `count` values `source[start + k·step]` into `target[k]`; returns how many finite
  /// values overflowed to infinity.
  @inline(__always)
  private static func convert<Source: BinaryFloatingPoint, Target: BinaryFloatingPoint>(
    _ source: UnsafeBufferPointer<Source>, start: Int, step: Int, count: Int, into target: UnsafeMutableBufferPointer<Target>
  ) -> Int {
    var overflow = 0
    var index = start
    for k in 0..<count {
      let x = source[index]
      let y = Target(x)
      if y.isInfinite && x.isFinite { overflow += 1 }
      target[k] = y
      index += step
    }
    return overflow
  }
}
