import Foundation

/// Writes a 2-D Zarr array (format 3 or 2) of float16/32/64, zstd-compressed, chunk by chunk,
/// never holding the whole array in memory.
///
/// Layout of `path` (a directory), for `rows × columns` in chunks of `chunkRows × chunkColumns`:
///
/// - format 3: `zarr.json` (`node_type` `array`, `data_type`, `shape`, a `regular` chunk grid,
///   the `default` chunk key encoding with separator `/`, `fill_value` `"NaN"`, codecs
///   `bytes` (little-endian) then `zstd`, `attributes`, `dimension_names`); chunk (i, j) in `c/i/j`.
/// - format 2: `.zarray` (`dtype` `<f2`/`<f4`/`<f8`, `compressor` `{"id": "zstd", "level": L}`
///   as numcodecs names it, `fill_value` `"NaN"`, `order` `C`, `filters` null,
///   `dimension_separator` `/`) and `.zattrs`; chunk (i, j) in `i/j`.
///
/// Every chunk holds a full `chunkRows × chunkColumns` block, C order, little-endian — chunks at
/// the array's edge too, padded with the fill value (both specifications store edge chunks at
/// full chunk shape) — compressed into one zstd frame that records its content size. A chunk not
/// written reads as the fill value NaN (Zarr's "not there"). A chunk may also be an existing zstd
/// frame of exactly those bytes, copied or hard-linked (`placeFrame`).
///
/// The array is built under a temporary directory `.<name>.tmp-<pid>-<hex>` next to `path`;
/// `commit()` writes the metadata, flushes the file system (`syncfs`), renames the directory into
/// place (replacing an earlier Zarr array at `path`) and syncs the parent directory.
///
/// Sources: Zarr core specification version 3.0 (zarr-specs.readthedocs.io, "regular" chunk grid,
/// "default" chunk key encoding, `bytes` codec) and the `zstd` codec of zarr-extensions;
/// Zarr storage specification version 2 and numcodecs' `Zstd` codec.
public final class ZarrArrayWriter: @unchecked Sendable {
  /// Zarr format versions.
  public enum Format: Int, Sendable {
    case v2 = 2
    case v3 = 3
  }

  /// The final path of the array (a directory).
  public let path: String
  /// Where the array is built until `commit()`.
  public let temporaryPath: String
  public let format: Format
  /// Element type: `.float16`, `.float32` or `.float64`.
  public let dtype: NpyDType
  public let rows: Int
  public let columns: Int
  public let chunkRows: Int
  public let chunkColumns: Int
  /// For a 3-D array `[rows, k, k]` of k × k blocks (`blockSide` k, `columns` = k², `chunkColumns`
  /// = k²): chunks `[chunkRows, k, k]`, keys `c/i/0/0` (v3) or `i/0/0` (v2); `nil`: 2-D.
  public let blockSide: Int?
  /// zstd level of the chunks this writer compresses.
  public let codec: ZstdCodec

  private let metadata: [(name: String, bytes: Data)]
  private var finished = false

  /// Chunks per side: ⌈rows / chunkRows⌉ × ⌈columns / chunkColumns⌉.
  public var chunkGrid: (rows: Int, columns: Int) {
    ((rows + chunkRows - 1) / chunkRows, (columns + chunkColumns - 1) / chunkColumns)
  }

  /// Bytes of one uncompressed chunk.
  public var chunkByteCount: Int { chunkRows * chunkColumns * dtype.byteSize }

  /// Starts an array: checks the destination and creates the temporary directory.
  ///
  /// - Parameter attributes: the array's user attributes (JSON-serialisable values).
  /// - Throws: `StorageError` (`.badInput`) for a dtype other than float16/32/64, a non-positive
  ///   shape or chunk, or a destination that exists and is not a Zarr array (it is never
  ///   replaced); (`.ioFailure`) when the directory cannot be created.
  ///   `blockSide`: k for a 3-D array `[rows, k, k]` (columns = chunkColumns = k²), written as
  ///   the 2-D `[rows, k²]` one (same bytes per chunk); `nil` for a 2-D array.
  public init(path: String, format: Format, dtype: NpyDType, rows: Int, columns: Int, chunkRows: Int, chunkColumns: Int,
              attributes: [String: Any], codec: ZstdCodec = ZstdCodec(), blockSide: Int? = nil) throws {
    guard [.float16, .float32, .float64].contains(dtype) else {
      throw StorageError(path: path, "Zarr output dtype must be float16, float32 or float64, not \(dtype.rawValue)")
    }
    guard rows > 0, columns > 0, chunkRows > 0, chunkColumns > 0 else {
      throw StorageError(path: path, "Zarr array shape [\(rows), \(columns)] and chunks [\(chunkRows), \(chunkColumns)] must be positive")
    }
    let existing = SystemFile.kind(of: path)
    if existing.exists && !(existing.isDirectory && Self.isZarrArray(path)) {
      throw StorageError(path: path, "exists and is not a Zarr array (no zarr.json or .zarray); not replaced")
    }
    self.path = path
    self.format = format
    self.dtype = dtype
    self.rows = rows
    self.columns = columns
    self.chunkRows = chunkRows
    self.chunkColumns = chunkColumns
    self.codec = codec
    if let k = blockSide, !(k > 0 && columns == k * k && chunkColumns == columns) {
      throw StorageError(path: path, "Zarr array of \(k) × \(Plural.count(k, "block")) needs columns and chunk columns \(k * k), found \(columns) and \(chunkColumns)")
    }
    self.blockSide = blockSide
    self.temporaryPath = AtomicFile.temporaryPath(for: path)
    let shape = blockSide.map { [rows, $0, $0] } ?? [rows, columns]
    let chunks = blockSide.map { [chunkRows, $0, $0] } ?? [chunkRows, chunkColumns]
    self.metadata = try Self.metadata(format: format, dtype: dtype, shape: shape, chunks: chunks,
                                      level: Int(codec.level), attributes: attributes, path: path)
    try SystemFile.makeDirectory(path: temporaryPath)
    if format == .v3 { try SystemFile.makeDirectory(path: temporaryPath + "/c") }
  }

  deinit {
    if !finished { abandon() }
  }

  /// Whether `directory` holds Zarr array metadata (`zarr.json` or `.zarray`).
  public static func isZarrArray(_ directory: String) -> Bool {
    SystemFile.kind(of: directory + "/zarr.json").exists || SystemFile.kind(of: directory + "/.zarray").exists
  }

  /// The key of chunk (i, j) relative to the array directory: `c/i/j` (v3) or `i/j` (v2).
  public func chunkKey(_ i: Int, _ j: Int) -> String {
    if blockSide != nil { return format == .v3 ? "c/\(i)/0/0" : "\(i)/0/0" }
    return format == .v3 ? "c/\(i)/\(j)" : "\(i)/\(j)"
  }

  /// Compresses and writes chunk (i, j); `raw` is the full chunk, C order, little-endian `dtype`.
  /// Safe to call from several threads for different chunks.
  ///
  /// - Returns: the stored (compressed) byte count.
  /// - Throws: `StorageError` (`.badInput`) for a wrong size or index; (`.ioFailure`) on I/O errors.
  @discardableResult
  public func writeChunk(_ i: Int, _ j: Int, raw: UnsafeRawBufferPointer) throws -> Int {
    guard raw.count == chunkByteCount else {
      throw StorageError(path: path, "chunk (\(i), \(j)) has \(Plural.count(raw.count, "byte")), expected \(chunkByteCount)")
    }
    let frame = try codec.compress(raw, name: path + "/" + chunkKey(i, j))
    try frame.withUnsafeBytes { try store(i, j, $0) }
    return frame.count
  }

  /// Makes chunk (i, j) the zstd frame in file `source`, which must decompress to exactly the
  /// chunk's bytes (the caller's guarantee): hard-linked when `link` and the file system allows,
  /// otherwise copied.
  ///
  /// - Returns: whether it was linked.
  @discardableResult
  public func placeFrame(_ i: Int, _ j: Int, from source: String, link: Bool) throws -> Bool {
    try SystemFile.makeDirectory(path: rowDirectory(i))
    let destination = temporaryPath + "/" + chunkKey(i, j)
    if link, try SystemFile.link(from: source, to: destination) { return true }
    let file = try SystemFile.openForReading(path: source)
    let bytes: [UInt8]
    do { bytes = try file.readAll() } catch { try? file.close(); throw error }
    try file.close()
    try bytes.withUnsafeBytes { try store(i, j, $0) }
    return false
  }

  /// Writes the metadata, makes everything durable and renames the array into place.
  ///
  /// An earlier Zarr array at `path` is first renamed aside (to a temporary name) and removed
  /// after the new one is in place.
  ///
  /// - Parameter exclusive: `path` is a new output: publish it only if nothing has taken the name
  ///   meanwhile (`SystemFile.publishExclusively`: `renameat2` with `RENAME_NOREPLACE`), never
  ///   replacing anything.
  /// - Throws: `StorageError` (`.destinationExists` naming `path`, `.badInput`, `.ioFailure`);
  ///   the temporary directory is removed.
  public func commit(exclusive: Bool = false) throws {
    guard !finished else { return }
    var previous: String?
    do {
      for entry in metadata {
        let file = try SystemFile.create(path: temporaryPath + "/" + entry.name)
        do { try entry.bytes.withUnsafeBytes { try file.writeAll($0) } } catch { try? file.close(); throw error }
        try file.close()
      }
      try SystemFile.syncFileSystem(path: temporaryPath)
      if exclusive {
        try SystemFile.publishExclusively(from: temporaryPath, to: path)
      } else if SystemFile.kind(of: path).exists {
        guard Self.isZarrArray(path) else {
          throw StorageError(path: path, "exists and is not a Zarr array (no zarr.json or .zarray); not replaced")
        }
        let aside = AtomicFile.temporaryPath(for: path)
        try SystemFile.rename(from: path, to: aside)
        previous = aside
      }
      if !exclusive { try SystemFile.rename(from: temporaryPath, to: path) }
      finished = true
      try SystemFile.syncDirectory(path: AtomicFile.directory(of: path))
      if let previous { try SystemFile.removeTree(path: previous) }
    } catch {
      // Put an earlier array moved aside back if the new one did not take its place.
      if !finished, let previous, !SystemFile.kind(of: path).exists { try? SystemFile.rename(from: previous, to: path) }
      abandon()
      throw error
    }
  }

  /// Deletes the temporary directory; `path` is left untouched.
  public func abandon() {
    guard !finished else { return }
    finished = true
    try? SystemFile.removeTree(path: temporaryPath)
  }

  private func rowDirectory(_ i: Int) -> String {
    let row = format == .v3 ? temporaryPath + "/c/\(i)" : temporaryPath + "/\(i)"
    return blockSide == nil ? row : row + "/0"
  }

  private func store(_ i: Int, _ j: Int, _ bytes: UnsafeRawBufferPointer) throws {
    let grid = chunkGrid
    guard i >= 0, j >= 0, i < grid.rows, j < grid.columns else {
      throw StorageError(path: path, "chunk (\(i), \(j)) is outside the chunk grid \(grid.rows) × \(grid.columns)")
    }
    if blockSide != nil { try SystemFile.makeDirectory(path: AtomicFile.directory(of: rowDirectory(i))) }
    try SystemFile.makeDirectory(path: rowDirectory(i))
    let file = try SystemFile.create(path: temporaryPath + "/" + chunkKey(i, j))
    do { try file.writeAll(bytes) } catch { try? file.close(); throw error }
    try file.close()
  }

  /// The metadata documents of an array: `zarr.json` (v3) or `.zarray` and `.zattrs` (v2).
  static func metadata(format: Format, dtype: NpyDType, shape: [Int], chunks: [Int], level: Int,
                       attributes: [String: Any], path: String) throws -> [(name: String, bytes: Data)] {
    func json(_ object: [String: Any]) throws -> Data {
      guard JSONSerialization.isValidJSONObject(object) else {
        throw StorageError(path: path, "Zarr metadata is not valid JSON")
      }
      var data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
      data.append(0x0A)
      return data
    }
    switch format {
    case .v3:
      let dataType = dtype == .float16 ? "float16" : dtype == .float32 ? "float32" : "float64"
      return [("zarr.json", try json([
        "zarr_format": 3,
        "node_type": "array",
        "shape": shape,
        "data_type": dataType,
        "chunk_grid": ["name": "regular", "configuration": ["chunk_shape": chunks]],
        "chunk_key_encoding": ["name": "default", "configuration": ["separator": "/"]],
        "fill_value": "NaN",
        "codecs": [
          ["name": "bytes", "configuration": ["endian": "little"]],
          ["name": "zstd", "configuration": ["level": level, "checksum": false]],
        ],
        "attributes": attributes,
        "dimension_names": shape.count == 3 ? ["sample", "row class", "column class"] : ["row", "column"],
      ]))]
    case .v2:
      return [
        (".zarray", try json([
          "zarr_format": 2,
          "shape": shape,
          "chunks": chunks,
          "dtype": dtype.rawValue,
          "compressor": ["id": "zstd", "level": level],
          "fill_value": "NaN",
          "order": "C",
          "filters": NSNull(),
          "dimension_separator": "/",
        ])),
        (".zattrs", try json(attributes)),
      ]
    }
  }
}
