import Foundation
import Storage
import XCTest

/// Cross kernels (manifest `columns`): K(rows, columns) equals the block of the square eNTK over
/// the union of the samples; the run's journal, objects, resume, verify, repair, shards and
/// assemble (.npy, Zarr, selections, partial masks) work for the rectangular plan; bad `columns`
/// input names `columns.<field>`.
final class CrossKernelTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("cross") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  static let mnist = "\(CLIHarness.repositoryRoot)/data/mnist-sample"

  /// LeNet (seeded init) with rows = the first `rows` MNIST digits and, when `columns` is given,
  /// columns = the first `columns` digits.
  private func manifest(_ name: String, rows: Int, columns: Int?, tileSamples: Int, precision: String = "float64",
                        columnsObject: Any? = nil, kernel: String? = nil) throws -> String {
    var object: [String: Any] = [
      "name": name,
      "dataset": ["name": "mnist", "root": Self.mnist, "subsample": rows],
      "model": ["name": "lenet", "seed": 0],
      "ntk": ["precision": precision, "normalization": "sqrt-params", "tileSamples": tileSamples],
    ]
    if let columns { object["columns"] = ["name": "mnist", "root": Self.mnist, "subsample": columns] }
    if let columnsObject { object["columns"] = columnsObject }
    if let kernel { object["ntk"] = ["precision": precision, "normalization": "sqrt-params", "tileSamples": tileSamples, "kernel": kernel] }
    return try CLIHarness.writeManifest(object, in: work, name: name)
  }

  private func assemble(_ run: String, _ output: String, _ extra: [String] = []) throws -> NpyArray {
    try CLIHarness.succeed(["assemble", run, "--output", output] + extra)
    return try NpyArray.read(path: output)
  }

  /// Kernel variants of a cross run: `trace` and `pseudo` with `columns` give the (n_rows, n_cols)
  /// reductions of the full cross kernel's blocks, T[i, j] = Σₐ K[i·10+a, j·10+a] and
  /// P[i, j] = 1/10 · Σₐ,b K[i·10+a, j·10+b] (float64, 1e-12 of the scale); `diagonal` with
  /// `columns` is refused naming `ntk.kernel` (exit 2).
  func testTraceAndPseudoCrossKernelsAreReductionsOfTheFullCrossKernel() throws {
    let full = try manifest("full", rows: 13, columns: 9, tileSamples: 4)
    try CLIHarness.succeed(["run", full, "--run-dir", "\(work)/full", "--progress", "none"])
    let k = try assemble("\(work)/full", "\(work)/full.npy").doubles()
    let (n, nc, m) = (13, 9, 10)
    for kernel in ["trace", "pseudo"] {
      let path = try manifest(kernel, rows: n, columns: nc, tileSamples: 4, kernel: kernel)
      try CLIHarness.succeed(["run", path, "--run-dir", "\(work)/\(kernel)", "--progress", "none"])
      let array = try assemble("\(work)/\(kernel)", "\(work)/\(kernel).npy")
      XCTAssertEqual(array.shape, [n, nc], kernel)
      let values = array.doubles()
      var worst = 0.0, scale = 0.0
      for i in 0..<n {
        for j in 0..<nc {
          var expected = 0.0
          for a in 0..<m {
            if kernel == "trace" {
              expected += k[(i * m + a) * nc * m + j * m + a]
            } else {
              for b in 0..<m { expected += k[(i * m + a) * nc * m + j * m + b] / Double(m) }
            }
          }
          worst = max(worst, abs(values[i * nc + j] - expected))
          scale = max(scale, abs(expected))
        }
      }
      XCTAssertGreaterThan(scale, 0, kernel)
      XCTAssertLessThanOrEqual(worst, 1e-12 * scale, "\(kernel) cross kernel differs from the reduction of the full one by \(worst) (scale \(scale))")
      try CLIHarness.succeed(["verify", "\(work)/\(kernel)"])
      // Zarr attributes and the partial mask name the variant and the cross run; no classes.
      try CLIHarness.succeed(["assemble", "\(work)/\(kernel)", "--output", "\(work)/\(kernel).zarr", "--progress", "none"])
      let zarr = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(work)/\(kernel).zarr/zarr.json"))) as! [String: Any]
      let attributes = zarr["attributes"] as! [String: Any]
      XCTAssertEqual(attributes["kernel"] as? String, kernel)
      XCTAssertEqual(attributes["cross"] as? Bool, true)
      XCTAssertNil(attributes["classes"], kernel)
      try CLIHarness.succeed(["run", path, "--run-dir", "\(work)/\(kernel)-partial", "--progress", "none", "--max-tiles", "2"])
      try CLIHarness.succeed(["assemble", "\(work)/\(kernel)-partial", "--allow-partial", "--output", "\(work)/\(kernel)-partial.npy", "--progress", "none"])
      let mask = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(work)/\(kernel)-partial.npy.missing.json"))) as! [String: Any]
      XCTAssertEqual(mask["kernel"] as? String, kernel)
      XCTAssertEqual(mask["cross"] as? Bool, true)
      XCTAssertNil(mask["classes"], kernel)
      XCTAssertEqual((mask["missingTiles"] as? [[String: Any]])?.count, 12 - 2, "4 row blocks × 3 column blocks, 2 computed")
    }
    let diagonal = try manifest("diagonal", rows: n, columns: nc, tileSamples: 4, kernel: "diagonal")
    let refused = try CLIHarness.run(["run", diagonal, "--run-dir", "\(work)/diagonal", "--progress", "none"])
    XCTAssertEqual(refused.status, 2, refused.stderr)
    XCTAssertTrue(refused.stderr.contains("ntk.kernel"), refused.stderr)
    XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
  }

  /// Rows = 20 digits, columns = 30 digits of the same root (their union is the first 30), tiles
  /// of 7 samples (dividing neither count: row blocks 7, 7, 6; column blocks 7, 7, 7, 7, 2):
  /// K(rows, columns) is G[0:200, 0:300] of the square run over the 30 digits to float64
  /// rounding; the logits and labels of the columns are the square run's first 30.
  func testCrossKernelEqualsTheBlockOfTheSquareRunOverTheUnion() throws {
    let square = try manifest("square", rows: 30, columns: nil, tileSamples: 7)
    let cross = try manifest("cross", rows: 20, columns: 30, tileSamples: 7)
    try CLIHarness.succeed(["run", square, "--run-dir", "\(work)/square", "--progress", "none"])
    let result = try CLIHarness.succeed(["run", cross, "--run-dir", "\(work)/cross", "--progress", "lines"])
    XCTAssertTrue(result.stderr.contains("20 × 30 samples (cross kernel): 200 × 300 eNTK in 15 tiles"), result.stderr)
    let g = try assemble("\(work)/square", "\(work)/square.npy").doubles()
    let k = try assemble("\(work)/cross", "\(work)/cross.npy")
    XCTAssertEqual(k.shape, [200, 300])
    XCTAssertEqual(k.dtype, .float64)
    let values = k.doubles()
    var worst = 0.0, scale = 0.0
    for r in 0..<200 {
      for c in 0..<300 {
        let expected = g[r * 300 + c]
        worst = max(worst, abs(values[r * 300 + c] - expected))
        scale = max(scale, abs(expected))
      }
    }
    XCTAssertGreaterThan(scale, 0)
    XCTAssertLessThanOrEqual(worst, 1e-12 * scale, "cross kernel differs from the square run's block by \(worst) (scale \(scale))")
    // Not symmetric where a square run would be: K[0:200, 0:200] is G's symmetric block, K[:, 200:300] is not mirrored anywhere.
    XCTAssertEqual(values[3 * 300 + 250], g[3 * 300 + 250], accuracy: 1e-12 * scale)

    // Logits and labels of the column samples.
    let squareLogits = try NpyArray.read(path: "\(work)/square/logits.npy").doubles()
    let columnsLogits = try NpyArray.read(path: "\(work)/cross/columns-logits.npy")
    XCTAssertEqual(columnsLogits.shape, [30, 10])
    XCTAssertEqual(columnsLogits.dtype, .float64)
    XCTAssertEqual(columnsLogits.doubles(), squareLogits)
    // The rows' last block holds 6 samples where the square run's holds 7: BLAS may round the
    // forward pass differently (multi-threaded), so equal to float64 rounding, not bit for bit.
    let rowLogits = try NpyArray.read(path: "\(work)/cross/logits.npy").doubles()
    XCTAssertEqual(rowLogits.count, 200)
    for (value, expected) in zip(rowLogits, squareLogits[0..<200]) {
      XCTAssertEqual(value, expected, accuracy: 1e-12 * max(1, abs(expected)))
    }
    let labels = try NpyArray.read(path: "\(work)/cross/columns-labels.npy")
    XCTAssertEqual(labels.dtype, .int64)
    XCTAssertEqual(labels.shape, [30])
    // The IDX labels file: 8 header bytes, then one byte per digit, in file order.
    let idx = try Gzip.decompress(FileBytes.read(path: "\(Self.mnist)/train-labels-idx1-ubyte.gz"), path: "labels")
    XCTAssertEqual(labels.int64s(), idx[8..<38].map { Int64($0) })

    // status, check and verify speak of the rectangle.
    let status = try CLIHarness.succeed(["status", "\(work)/cross"])
    XCTAssertTrue(status.stdout.contains("matrix:   200 × 300 float64"), status.stdout)
    XCTAssertTrue(status.stdout.contains("tiles:    15/15 (100.0% of sample pairs)"), status.stdout)
    let check = try CLIHarness.succeed(["check", cross, "--shards", "4"])
    XCTAssertTrue(check.stdout.contains("columns:  mnist, n = 30 samples"), check.stdout)
    XCTAssertTrue(check.stdout.contains("plan:     3 × 5 blocks of up to 7 samples, 15 tiles, 480000 raw bytes"), check.stdout)
    XCTAssertTrue(check.stdout.contains("matrix:   200 × 300, 480000 bytes"), check.stdout)
    XCTAssertTrue(check.stdout.contains("shards:   4:"), check.stdout)
    // slurm knows the cross plan's tile count (3 × 5) from the manifest alone.
    let slurm = try CLIHarness.run(["slurm", cross, "--array", "20", "--run-dir", "\(work)/slurm", "--time", "1:00:00"])
    XCTAssertEqual(slurm.status, 0, slurm.stderr)
    XCTAssertTrue(slurm.stderr.contains("warning: --array 20: the plan has only 15 tiles"), slurm.stderr)
    let verify = try CLIHarness.succeed(["verify", "\(work)/cross"])
    XCTAssertTrue(verify.stdout.contains("15 of 15 journaled tiles intact"), verify.stdout)

    // Selections: rows 5…11 × columns 3…28, classes 1 and 4, equal slicing the full cross matrix.
    let part = try assemble("\(work)/cross", "\(work)/part.npy", ["--samples", "5:12,3:29", "--classes", "1,4"])
    XCTAssertEqual(part.shape, [14, 52])
    let partValues = part.doubles()
    for r in 0..<14 {
      for c in 0..<52 {
        let row = (5 + r / 2) * 10 + [1, 4][r % 2], column = (3 + c / 2) * 10 + [1, 4][c % 2]
        XCTAssertEqual(partValues[r * 52 + c], values[row * 300 + column])
      }
    }
    // One range: those rows, every column.
    let rowsOnly = try assemble("\(work)/cross", "\(work)/rows.npy", ["--samples", "10:20"])
    XCTAssertEqual(rowsOnly.shape, [100, 300])
    XCTAssertEqual(rowsOnly.doubles(), Array(values[(100 * 300)..<(200 * 300)]))
    let bad = try CLIHarness.run(["assemble", "\(work)/cross", "--samples", "0:20,0:31", "--output", "\(work)/bad.npy"])
    XCTAssertEqual(bad.status, 2, bad.stderr)
    XCTAssertTrue(bad.stderr.contains("--samples: columns 0:31 must be a non-empty range within 0:30 (the cross run has 20 row and 30 column samples)"), bad.stderr)

    // Zarr v3 and v2 of the cross run: shape [200, 300], chunks of a tile, attributes say cross.
    try CLIHarness.succeed(["assemble", "\(work)/cross", "--output", "\(work)/cross.zarr"])
    let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(work)/cross.zarr/zarr.json"))) as! [String: Any]
    XCTAssertEqual(meta["shape"] as? [Int], [200, 300])
    let attributes = meta["attributes"] as! [String: Any]
    XCTAssertEqual(attributes["kernel"] as? String, "full")
    XCTAssertEqual(attributes["cross"] as? Bool, true)
    XCTAssertEqual(attributes["nColumns"] as? Int, 30)
    try CLIHarness.succeed(["assemble", "\(work)/cross", "--zarr-format", "2", "--output", "\(work)/cross2.zarr"])
    let zarray = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(work)/cross2.zarr/.zarray"))) as! [String: Any]
    XCTAssertEqual(zarray["shape"] as? [Int], [200, 300])
    XCTAssertEqual(zarray["chunks"] as? [Int], [70, 70])
  }

  /// Rows and columns of different subsample sizes whose last blocks are short on both sides
  /// (13 rows, 9 columns, tiles of 4): the same block of the square run over 13 digits, and three
  /// shards of one directory union to the one-process matrix byte for byte; `--allow-partial`
  /// masks a cross tile without a transpose.
  func testShortLastBlocksShardsAndPartialMasks() throws {
    let square = try manifest("square", rows: 13, columns: nil, tileSamples: 4)
    let cross = try manifest("cross", rows: 13, columns: 9, tileSamples: 4, precision: "float32")
    let cross64 = try manifest("cross64", rows: 13, columns: 9, tileSamples: 4)
    try CLIHarness.succeed(["run", square, "--run-dir", "\(work)/square", "--progress", "none"])
    try CLIHarness.succeed(["run", cross64, "--run-dir", "\(work)/cross64", "--progress", "none"])
    let g = try assemble("\(work)/square", "\(work)/square.npy").doubles()
    let k = try assemble("\(work)/cross64", "\(work)/cross64.npy")
    XCTAssertEqual(k.shape, [130, 90])
    let kv = k.doubles()
    let scale = g.map(abs).max() ?? 0
    XCTAssertGreaterThan(scale, 0)
    for r in 0..<130 { for c in 0..<90 { XCTAssertEqual(kv[r * 90 + c], g[r * 130 + c], accuracy: 1e-12 * scale) } }

    // One process, then three shards at once on another directory: the same bytes.
    try CLIHarness.succeed(["run", cross, "--run-dir", "\(work)/one", "--progress", "none"])
    try CLIHarness.succeed(["assemble", "\(work)/one", "--output", "\(work)/one.npy"])
    var processes: [Process] = []
    for s in 0..<3 {
      let logs = "\(work)/shard-\(s)"
      try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
      processes.append(try CLIHarness.start(["run", cross, "--run-dir", "\(work)/sharded", "--shard", "\(s)/3", "--progress", "tiles"], logDirectory: logs))
    }
    var tiles: [Int] = []
    for (s, process) in processes.enumerated() {
      process.waitUntilExit()
      XCTAssertEqual(process.terminationStatus, 0, CLIHarness.log("\(work)/shard-\(s)", "stderr"))
      tiles += (try String(contentsOfFile: "\(work)/shard-\(s)/stdout.log", encoding: .utf8)).split(separator: "\n")
        .compactMap { line in let w = line.split(separator: " "); return w.count >= 2 && w[0] == "tile" ? Int(w[1]) : nil }
    }
    XCTAssertEqual(tiles.sorted(), Array(0..<12), "4 row blocks × 3 column blocks")
    try CLIHarness.succeed(["verify", "\(work)/sharded"])
    try CLIHarness.succeed(["assemble", "\(work)/sharded", "--output", "\(work)/sharded.npy"])
    XCTAssertEqual(try FileBytes.read(path: "\(work)/sharded.npy"), try FileBytes.read(path: "\(work)/one.npy"))
    XCTAssertEqual(try FileBytes.read(path: "\(work)/sharded/columns-logits.npy"), try FileBytes.read(path: "\(work)/one/columns-logits.npy"))

    // A partial run: tiles 0…4 only; the missing tiles are NaN, each only where it is (no transpose).
    try CLIHarness.succeed(["run", cross, "--run-dir", "\(work)/partial", "--progress", "none", "--max-tiles", "5"])
    try CLIHarness.succeed(["assemble", "\(work)/partial", "--allow-partial", "--output", "\(work)/partial.npy"])
    let full = try NpyArray.read(path: "\(work)/one.npy").floats()
    let partial = try NpyArray.read(path: "\(work)/partial.npy").floats()
    // Tile index = I·3 + J; tile 5 = (1, 2): rows 40…79, columns 80…89.
    for r in 0..<130 {
      for c in 0..<90 {
        let index = (r / 40) * 3 + c / 40
        if index < 5 { XCTAssertEqual(partial[r * 90 + c], full[r * 90 + c]) } else { XCTAssertTrue(partial[r * 90 + c].isNaN, "(\(r), \(c))") }
      }
    }
    let mask = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(work)/partial.npy.missing.json"))) as! [String: Any]
    let missing = mask["missingTiles"] as! [[String: Any]]
    XCTAssertEqual(missing.map { $0["index"] as! Int }, Array(5..<12))
    XCTAssertEqual(missing[0]["blocks"] as? [[String: [Int]]], [["rows": [40, 80], "columns": [80, 90]]])
    XCTAssertEqual(mask["kernel"] as? String, "full")
    XCTAssertEqual(mask["cross"] as? Bool, true)
  }

  /// SIGKILL part-way through a cross run, again and again, then resume: the assembled matrix is
  /// byte-identical to an uninterrupted run's. Then verify and repair: a flipped byte in an
  /// object and a truncated `columns-logits.npy` and a wrong `columns-labels.npy` are named by
  /// verify, removed by repair and recomputed/rewritten by the next run, byte-identical.
  func testResumeAfterKillVerifyAndRepairOfACrossRun() throws {
    let cross = try manifest("cross", rows: 60, columns: 50, tileSamples: 10, precision: "float32")
    try CLIHarness.succeed(["run", cross, "--run-dir", "\(work)/straight", "--progress", "none"])
    let straight = try assemble("\(work)/straight", "\(work)/straight.npy")
    XCTAssertEqual(straight.shape, [600, 500])
    let straightBytes = try FileBytes.read(path: "\(work)/straight.npy")

    var kills = 0
    for session in 0..<40 {
      let logs = "\(work)/session-\(session)"
      try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
      let process = try CLIHarness.start(["run", cross, "--run-dir", "\(work)/killed", "--progress", "tiles"], logDirectory: logs)
      let target = Int.random(in: 1...6)
      let deadline = Date().addingTimeInterval(60)
      while process.isRunning, Date() < deadline,
            CLIHarness.log(logs, "stdout").split(separator: "\n").filter({ $0.hasPrefix("tile ") }).count < target {
        usleep(2_000)
      }
      if process.isRunning { kill(process.processIdentifier, SIGKILL); kills += 1 }
      process.waitUntilExit()
      if process.terminationReason == .exit {
        XCTAssertEqual(process.terminationStatus, 0)
        break
      }
    }
    XCTAssertGreaterThanOrEqual(kills, 2, "the run finished before it could be killed twice")
    try CLIHarness.succeed(["verify", "\(work)/killed"])
    try CLIHarness.succeed(["assemble", "\(work)/killed", "--output", "\(work)/killed.npy"])
    XCTAssertTrue(try FileBytes.read(path: "\(work)/killed.npy") == straightBytes, "resumed cross kernel differs from the uninterrupted run's")

    // Damage: a flipped byte in one object, columns-logits.npy cut short, a label out of range.
    let run = "\(work)/killed"
    let status = try CLIHarness.succeed(["status", run, "--json"])
    let tiles = (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as! [String: Any])["tiles"] as! [[String: Any]]
    let victim = tiles.first { $0["index"] as? Int == 7 }!
    let hash = victim["hash"] as! String
    let objectPath = "\(run)/objects/\(hash.prefix(2))/\(hash.dropFirst(2))"
    var object = try FileBytes.read(path: objectPath)
    object[object.count / 2] ^= 0x40
    try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: objectPath)
    try Data(object).write(to: URL(fileURLWithPath: objectPath))
    let logitsPath = "\(run)/columns-logits.npy"
    let logits = try FileBytes.read(path: logitsPath)
    try Data(logits.prefix(logits.count - 8)).write(to: URL(fileURLWithPath: logitsPath))
    let labelsPath = "\(run)/columns-labels.npy"
    var labels = try FileBytes.read(path: labelsPath)
    labels[labels.count - 8] = 42
    try Data(labels).write(to: URL(fileURLWithPath: labelsPath))

    let verify = try CLIHarness.run(["verify", run])
    XCTAssertEqual(verify.status, 1, verify.stderr)
    XCTAssertTrue(verify.stdout.contains("DAMAGED tile 7 (1, 2)"), verify.stdout)
    XCTAssertTrue(verify.stdout.contains("DAMAGED \(run)/columns-logits.npy"), verify.stdout)
    XCTAssertTrue(verify.stdout.contains("DAMAGED \(run)/columns-labels.npy: holds label 42 at [49], expected 0…9"), verify.stdout)
    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("REMOVED damaged \(run)/columns-logits.npy"), repair.stdout)
    XCTAssertTrue(repair.stdout.contains("REMOVED damaged \(run)/columns-labels.npy"), repair.stdout)
    // The summary counts them (a tester's finding: it said nothing of removed derived files).
    XCTAssertTrue(repair.stdout.contains("withdrawn, 2 damaged derived files removed; run `ntkbatch run`"), repair.stdout)
    XCTAssertFalse(FileManager.default.fileExists(atPath: logitsPath))
    let again = try CLIHarness.succeed(["run", cross, "--run-dir", run, "--progress", "tiles"])
    XCTAssertEqual(again.stdout.split(separator: "\n").filter { $0.hasPrefix("tile ") }.map { $0.split(separator: " ")[1] }, ["7"])
    try CLIHarness.succeed(["verify", run])
    try CLIHarness.succeed(["assemble", run, "--output", "\(work)/repaired.npy"])
    XCTAssertTrue(try FileBytes.read(path: "\(work)/repaired.npy") == straightBytes)
    XCTAssertEqual(try FileBytes.read(path: logitsPath), try FileBytes.read(path: "\(work)/straight/columns-logits.npy"))
    XCTAssertEqual(try FileBytes.read(path: labelsPath), try FileBytes.read(path: "\(work)/straight/columns-labels.npy"))
  }

  /// Bad `columns` input: one line naming `columns.<field>`, exit 2, for `check` and `run`; a run
  /// directory of the square run refuses the same manifest with columns (identity differs).
  func testBadColumnsInputNamesTheField() throws {
    let cases: [(Any, String)] = [
      (["name": "mnist", "root": Self.mnist, "subsample": -3], "columns.subsample: expected a positive integer, found -3"),
      (["name": "mnist"], "columns.root: missing (required when columns.name is mnist"),
      (["name": "mnist", "root": Self.mnist, "colour": 1], "columns.colour: unknown field"),
      (["name": "imagenet", "root": Self.mnist], "columns.name: expected one of"),
      (["name": "mnist", "root": "\(work)/nowhere"], "columns.root: no such folder"),
      (["name": "mnist", "root": Self.mnist, "subsample": 5001], "columns.subsample is 5001 but the file holds only 5000 samples"),
      ("mnist", "columns: expected an object"),
    ]
    for (index, (columns, message)) in cases.enumerated() {
      let path = try manifest("bad\(index)", rows: 5, columns: nil, tileSamples: 5, columnsObject: columns)
      for command in ["check", "run"] {
        let arguments = command == "run" ? ["run", path, "--run-dir", "\(work)/bad-run-\(index)", "--progress", "none"] : ["check", path]
        let result = try CLIHarness.run(arguments)
        XCTAssertEqual(result.status, 2, "\(command) \(columns): \(result.stderr)")
        XCTAssertTrue(result.stderr.contains(message), "\(command) \(columns): \(result.stderr)")
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
      }
    }
    // A square run directory is not resumed as a cross run.
    let square = try manifest("same", rows: 5, columns: nil, tileSamples: 5)
    try CLIHarness.succeed(["run", square, "--run-dir", "\(work)/same", "--progress", "none"])
    let crossPath = try manifest("same", rows: 5, columns: 5, tileSamples: 5)
    XCTAssertEqual(square, crossPath)
    let refused = try CLIHarness.run(["run", crossPath, "--run-dir", "\(work)/same", "--progress", "none"])
    XCTAssertEqual(refused.status, 2, refused.stderr)
    XCTAssertTrue(refused.stderr.contains("columns"), refused.stderr)
  }
}
