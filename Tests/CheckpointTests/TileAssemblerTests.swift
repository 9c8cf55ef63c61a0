import XCTest
@testable import Checkpoint
import Storage
import TestSupport

/// `TileAssembler` beyond the whole `.npy`: sub-matrices (samples and classes), Zarr chunks
/// (layout, edge padding, the stored frame reused as a chunk, absent chunks), non-finite tiles,
/// and the leftovers of interrupted assembles.
final class TileAssemblerTests: XCTestCase {
  private var dir: TemporaryDirectory!

  override func setUpWithError() throws { dir = try TemporaryDirectory("assembler") }
  override func tearDown() { dir.remove() }

  /// A finished (or, with `stopAfter`, partial) run of `kernel` in tiles of `t`; `corrupt` may
  /// change a tile's values before they are stored.
  private func makeRun(_ kernel: SyntheticKernel, t: Int, precision: TilePrecision, name: String, stopAfter: Int? = nil,
                       corrupt: (Tile, inout [UInt8]) -> Void = { _, _ in }) throws -> RunDirectory {
    let run = RunDirectory(path: dir.path + "/" + name)
    let id = RunIdentity(manifestHash: testHash("m"), weightsHash: testHash("w"), inputDataHash: testHash("d"),
                         sampleCount: kernel.n, tileSamples: t, precision: precision, normalization: .none, outputsPerSample: kernel.m)
    let session = try RunSession.open(run: run, identity: id, manifestJSON: Array("{}\n".utf8))
    defer { session.close() }
    var done = 0
    _ = try TileRunner(session: session, plan: id.plan()).run(compute: { tile in
      done += 1
      var bytes = kernel.tileBytes(tile, precision: precision)
      corrupt(tile, &bytes)
      return bytes
    }, shouldStop: { stopAfter.map { done >= $0 } ?? false })
    return run
  }

  /// The selected block of `dense` ([d, d]) as the assembler lays it out.
  private func slice(_ dense: [Double], n: Int, m: Int, rows: Range<Int>, columns: Range<Int>, classes: [Int]) -> [Double] {
    let d = n * m
    var out: [Double] = []
    for i in rows { for a in classes { for j in columns { for b in classes { out.append(dense[(i * m + a) * d + j * m + b]) } } } }
    return out
  }

  func testSubMatricesEqualSlicingTheFullMatrixInNpyAndZarr() throws {
    // n = 23 in tiles of 5: blocks 0-4, 5-9, 10-14, 15-19 and the short last block 20-22.
    let kernel = SyntheticKernel(n: 23, p: 6, seed: 21)
    let dense = kernel.dense()
    let run = try makeRun(kernel, t: 5, precision: .float64, name: "run")
    let cases: [(String, AssemblySelection)] = [
      ("whole", .all),
      ("crossing tile boundaries", AssemblySelection(rowSamples: 3..<17)),
      ("last short block", AssemblySelection(rowSamples: 20..<23)),
      ("ending in the short block", AssemblySelection(rowSamples: 18..<23)),
      ("rectangle across the diagonal", AssemblySelection(rowSamples: 2..<13, columnSamples: 7..<23)),
      ("rectangle below the diagonal", AssemblySelection(rowSamples: 16..<23, columnSamples: 0..<9)),
      ("one sample", AssemblySelection(rowSamples: 11..<12, columnSamples: 22..<23)),
      ("classes", AssemblySelection(classes: [7, 2, 9])),
      ("samples and classes", AssemblySelection(rowSamples: 4..<21, columnSamples: 1..<6, classes: [0, 5])),
    ]
    for (label, selection) in cases {
      let rows = selection.rowSamples ?? 0..<23
      let columns = selection.columnSamples ?? rows
      let classes = selection.classes ?? Array(0..<10)
      let expected = slice(dense, n: 23, m: 10, rows: rows, columns: columns, classes: classes)
      // bandBytes 1: every band is filled and written in windows of one tile (npy) or chunk (Zarr) of columns.
      for bandBytes in [256 << 20, 1] {
      let npy = dir.path + "/\(label)-\(bandBytes).npy"
      let report = try TileAssembler.assemble(run: run, output: npy, options: .init(dtype: .float64, selection: selection, bandBytes: bandBytes))
      XCTAssertEqual([report.rows, report.columns], [rows.count * classes.count, columns.count * classes.count], label)
      let array = try NpyArray.read(path: npy)
      XCTAssertEqual(array.shape, [rows.count * classes.count, columns.count * classes.count], label)
      XCTAssertEqual(array.doubles(), expected, "\(label), bandBytes \(bandBytes)")
      // Zarr, with the default chunk (one tile) and a chunk that does not divide the tile.
      for chunk in [nil, 3 * classes.count] as [Int?] {
        for version in [ZarrArrayWriter.Format.v3, .v2] {
          let zarr = dir.path + "/\(label)-\(chunk ?? 0)-\(version.rawValue)-\(bandBytes).zarr"
          try TileAssembler.assemble(run: run, output: zarr, options: .init(dtype: .float64, selection: selection, format: .zarr,
                                                                            zarrVersion: version, chunk: chunk, bandBytes: bandBytes))
          let read = try ZarrTestReader(path: zarr)
          XCTAssertEqual(read.shape, array.shape, label)
          // A chunk beyond the array's extent is clamped to it (one chunk), the default tile too.
          let side = min(chunk ?? 5 * classes.count, max(rows.count, columns.count) * classes.count)
          XCTAssertEqual(read.chunks, [side, side], label)
          XCTAssertEqual(try read.values(), expected, "\(label), chunk \(chunk ?? 0), v\(version.rawValue), bandBytes \(bandBytes)")
        }
      }
      }
    }
    XCTAssertEqual(TileBandFiller.windows(3..<17, origin: 0, unit: 5, maximum: 1), [3..<5, 5..<10, 10..<15, 15..<17])
    XCTAssertEqual(TileBandFiller.windows(3..<17, origin: 3, unit: 4, maximum: 9), [3..<11, 11..<17])
  }

  /// The default Zarr chunk (one tile) is clamped as `--chunk` is: `tileSamples` beyond n gave
  /// a chunk of the tile's side (a tester's `tileSamples: 100000` on 7 digits: 4 TB asked of
  /// malloc, a crash), and a large tile a chunk past the 256 MiB limit.
  func testDefaultZarrChunkIsClampedToTheArrayAndToTheChunkLimit() throws {
    let kernel = SyntheticKernel(n: 7, p: 4, seed: 23)
    let run = try makeRun(kernel, t: 100_000, precision: .float32, name: "huge-tile")
    for version in [ZarrArrayWriter.Format.v3, .v2] {
      let zarr = dir.path + "/huge-tile-\(version.rawValue).zarr"
      try TileAssembler.assemble(run: run, output: zarr, options: .init(dtype: .float32, format: .zarr, zarrVersion: version))
      let read = try ZarrTestReader(path: zarr)
      XCTAssertEqual(read.shape, [70, 70])
      XCTAssertEqual(read.chunks, [70, 70])
      XCTAssertEqual(try read.values(), kernel.dense().map { Double(Float($0)) })
    }
    // 256 MiB of values: 8,190² float32 values (a multiple of 10) fit, 8,200² do not; float64 5,790.
    let all = AssemblySelection.Resolved(rows: 0..<100_000, columns: 0..<100_000, classes: Array(0..<10), outputsPerSample: 10)
    XCTAssertEqual(TileAssembler.defaultChunk(tileSide: 29_870, selection: all, bytesPerValue: 4), 8_190)
    XCTAssertEqual(TileAssembler.defaultChunk(tileSide: 29_870, selection: all, bytesPerValue: 8), 5_790)
    XCTAssertEqual(TileAssembler.defaultChunk(tileSide: 1_000, selection: all, bytesPerValue: 8), 1_000)
    XCTAssertEqual(8_190 * 8_190 * 4 <= TileAssembler.maximumChunkBytes, true)
    XCTAssertEqual(8_200 * 8_200 * 4 <= TileAssembler.maximumChunkBytes, false)
  }

  func testZarrChunksReuseStoredFramesPadEdgesWithNaNAndLeaveMissingTilesAbsent() throws {
    let kernel = SyntheticKernel(n: 13, p: 5, seed: 22)  // blocks of 5: 0-4, 5-9, 10-12 → 6 tiles
    let dense = kernel.dense()
    let run = try makeRun(kernel, t: 5, precision: .float32, name: "run")
    let zarr = dir.path + "/g.zarr"
    let report = try TileAssembler.assemble(run: run, output: zarr, options: .init(dtype: .float32, format: .zarr))
    // Only tile (0, 1) is off-diagonal and full-size: chunk (0, 1) is its object's frame as stored.
    XCTAssertEqual(report.chunks, TileAssembler.ChunkCounts(encoded: 8, copied: 1, linked: 0, absent: 0))
    let replay = try run.journal.replay()
    let object = run.objects.path(for: replay.tiles[1]!.object)
    XCTAssertEqual(try readBytes(zarr + "/c/0/1"), try readBytes(object))
    // Edge chunk (2, 2): rows and columns 120-129 are padding, stored as NaN in a full 50 × 50 chunk.
    let edge = try ZstdCodec().decompress(readBytes(zarr + "/c/2/2"), rawByteCount: 50 * 50 * 4)
    let values = edge.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    XCTAssertEqual(values[0], Float(dense[100 * 130 + 100]))
    XCTAssertEqual(values[29 * 50 + 29], Float(dense[129 * 130 + 129]))
    XCTAssertTrue(values[29 * 50 + 30].isNaN && values[30 * 50].isNaN && values[49 * 50 + 49].isNaN)
    XCTAssertEqual(try ZarrTestReader(path: zarr).values(), dense.map { Double(Float($0)) })

    // Hard links where asked (same file system here).
    let linked = try TileAssembler.assemble(run: run, output: dir.path + "/l.zarr", options: .init(dtype: .float32, format: .zarr, linkObjects: true))
    XCTAssertEqual(linked.chunks?.linked, 1)
    let links = try FileManager.default.attributesOfItem(atPath: object)[.referenceCount] as? NSNumber
    XCTAssertEqual(links?.intValue, 2)

    // Partial: 2 of 6 tiles → the chunks of missing tiles (and their mirrors) are absent.
    let partialRun = try makeRun(kernel, t: 5, precision: .float32, name: "partial", stopAfter: 2)
    let partial = try TileAssembler.assemble(run: partialRun, output: dir.path + "/p.zarr",
                                             options: .init(dtype: .float32, allowPartial: true, format: .zarr))
    XCTAssertEqual(partial.missingTiles, [2, 3, 4, 5])
    XCTAssertEqual(partial.chunks?.absent, 9 - 3)
    for key in ["0/2", "1/1", "1/2", "2/0", "2/1", "2/2"] {
      XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/p.zarr/c/" + key), key)
    }
    let read = try ZarrTestReader(path: dir.path + "/p.zarr").values()
    for r in 0..<130 {
      for c in 0..<130 {
        let present = min(r, c) < 50 && max(r, c) < 100
        if present { XCTAssertEqual(read[r * 130 + c], Double(Float(dense[r * 130 + c]))) } else { XCTAssertTrue(read[r * 130 + c].isNaN) }
      }
    }
    XCTAssertEqual(partial.missingBlocks.map { [$0.tile] + $0.rows + $0.columns },
                   [[2, 0, 50, 100, 130], [2, 100, 130, 0, 50], [3, 50, 100, 50, 100], [4, 50, 100, 100, 130], [4, 100, 130, 50, 100], [5, 100, 130, 100, 130]])
  }

  func testNonFiniteValuesInAStoredTileAreRefusedNamingTheTile() throws {
    let kernel = SyntheticKernel(n: 12, p: 4, seed: 23)  // 6 tiles of 4 samples
    let run = try makeRun(kernel, t: 4, precision: .float32, name: "run") { tile, bytes in
      guard tile.index == 4 else { return }  // (1, 2): one NaN at its row 3, column 7
      bytes.withUnsafeMutableBytes { $0.bindMemory(to: Float.self)[3 * 40 + 7] = .nan }
    }
    for format in [TileAssembler.OutputFormat.npy, .zarr] {
      for allowPartial in [false, true] {
        let output = dir.path + "/g-\(allowPartial).\(format.rawValue)"
        XCTAssertThrowsError(try TileAssembler.assemble(run: run, output: output,
                                                        options: .init(dtype: .float32, allowPartial: allowPartial, format: format))) { error in
          XCTAssertEqual((error as? CheckpointError)?.code, .failure)
          XCTAssertTrue("\(error)".contains("tile 4 (I=1, J=2): 1 of its 1600 values are NaN or ±infinity (first at matrix row 43, column 87)"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
      }
    }
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }, [])
    // A sub-matrix that does not touch tile (1, 2) is written.
    XCTAssertNoThrow(try TileAssembler.assemble(run: run, output: dir.path + "/corner.npy",
                                                options: .init(dtype: .float32, selection: AssemblySelection(rowSamples: 0..<4))))
  }

  func testLeftoversOfKilledAssemblesAreRemovedByTheNextAssembleAndByRepair() throws {
    let kernel = SyntheticKernel(n: 6, p: 3, seed: 24)
    let run = try makeRun(kernel, t: 3, precision: .float32, name: "run")
    let dead = Int32.max  // no such process
    let output = dir.path + "/g.zarr"
    let leftoverDirectory = dir.path + "/.g.zarr.tmp-\(dead)-1f"
    try FileManager.default.createDirectory(atPath: leftoverDirectory + "/c/0", withIntermediateDirectories: true)
    try writeBytes([1, 2, 3], leftoverDirectory + "/c/0/0")
    let leftoverMask = dir.path + "/.g.zarr.missing.json.tmp-\(dead)-2e"
    try writeBytes([4], leftoverMask)
    let live = dir.path + "/.g.zarr.tmp-\(ProcessInfo.processInfo.processIdentifier)-3d"  // a running assemble's: kept
    try writeBytes([5], live)
    let report = try TileAssembler.assemble(run: run, output: output, options: .init(dtype: .float32, format: .zarr))
    XCTAssertEqual(report.removedLeftovers, [leftoverMask, leftoverDirectory])
    XCTAssertFalse(FileManager.default.fileExists(atPath: leftoverDirectory))
    XCTAssertTrue(FileManager.default.fileExists(atPath: live))
    XCTAssertFalse(FileManager.default.fileExists(atPath: AssemblyLeftovers.directory(of: run)), "the folder goes with its last record")

    // repair removes what a recorded (killed) assemble left, wherever its output was.
    let elsewhere = dir.path + "/out"
    try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
    let temporary = elsewhere + "/.x.npy.tmp-\(dead)-4c"
    try writeBytes([6], temporary)
    try FileManager.default.createDirectory(atPath: AssemblyLeftovers.directory(of: run), withIntermediateDirectories: true)
    try writeBytes(Array((elsewhere + "/x.npy").utf8), AssemblyLeftovers.directory(of: run) + "/\(dead)-4c")
    let repaired = try RunRepair.repair(run: run)
    XCTAssertEqual(repaired.removedTemporaryFiles, [temporary])
    XCTAssertFalse(FileManager.default.fileExists(atPath: temporary))
    XCTAssertFalse(FileManager.default.fileExists(atPath: AssemblyLeftovers.directory(of: run)), "repair removes the record, then the empty folder")

    // An existing directory that is not a Zarr array is never replaced.
    try FileManager.default.createDirectory(atPath: dir.path + "/data.zarr", withIntermediateDirectories: true)
    try writeBytes([7], dir.path + "/data.zarr/keep")
    XCTAssertThrowsError(try TileAssembler.assemble(run: run, output: dir.path + "/data.zarr", options: .init(format: .zarr))) { error in
      XCTAssertTrue("\(error)".contains("exists and is not a Zarr array"), "\(error)")
    }
    XCTAssertEqual(try readBytes(dir.path + "/data.zarr/keep"), [7])
    // An earlier Zarr array is replaced.
    try TileAssembler.assemble(run: run, output: output, options: .init(dtype: .float64, format: .zarr))
    XCTAssertEqual(try ZarrTestReader(path: output).dtype, .float64)
  }
}

/// A minimal reader of the Zarr arrays `ZarrArrayWriter` writes (2-D, float, zstd, "/" keys), to
/// check layouts without Python (the interop test reads them with zarr-python).
struct ZarrTestReader {
  let path: String
  let version: Int
  let shape: [Int]
  let chunks: [Int]
  let dtype: NpyDType

  init(path: String) throws {
    self.path = path
    if FileManager.default.fileExists(atPath: path + "/zarr.json") {
      let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path + "/zarr.json"))) as! [String: Any]
      version = 3
      shape = json["shape"] as! [Int]
      chunks = ((json["chunk_grid"] as! [String: Any])["configuration"] as! [String: Any])["chunk_shape"] as! [Int]
      dtype = ["float16": .float16, "float32": .float32, "float64": .float64][json["data_type"] as! String]!
    } else {
      let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path + "/.zarray"))) as! [String: Any]
      version = 2
      shape = json["shape"] as! [Int]
      chunks = json["chunks"] as! [Int]
      dtype = NpyDType(rawValue: json["dtype"] as! String)!
    }
  }

  /// The whole array, row-major, as Double (absent chunks NaN).
  func values() throws -> [Double] {
    var out = [Double](repeating: .nan, count: shape[0] * shape[1])
    let (cr, cc) = (chunks[0], chunks[1])
    for i in 0..<((shape[0] + cr - 1) / cr) {
      for j in 0..<((shape[1] + cc - 1) / cc) {
        let file = path + (version == 3 ? "/c/\(i)/\(j)" : "/\(i)/\(j)")
        guard FileManager.default.fileExists(atPath: file) else { continue }
        let raw = try ZstdCodec().decompress(readBytes(file), rawByteCount: cr * cc * dtype.byteSize)
        let chunk: [Double] = raw.withUnsafeBytes { bytes in
          switch dtype {
          case .float16: return bytes.bindMemory(to: Float16.self).map(Double.init)
          case .float32: return bytes.bindMemory(to: Float.self).map(Double.init)
          default: return Array(bytes.bindMemory(to: Double.self))
          }
        }
        for r in 0..<cr where i * cr + r < shape[0] {
          for c in 0..<cc where j * cc + c < shape[1] { out[(i * cr + r) * shape[1] + j * cc + c] = chunk[r * cc + c] }
        }
      }
    }
    return out
  }
}
