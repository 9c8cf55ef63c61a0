import Foundation
import Storage
import XCTest

/// `assemble` on real LeNet runs from the command line: sub-matrices equal slices of the full
/// matrix; a killed `assemble` (SIGKILL) leaves nothing that the next `assemble` or `repair` does
/// not remove; bad selections are one-line errors.
final class AssembleCLITests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("assemble-cli") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  func testSubMatrixAssemblyEqualsSlicingTheFullMatrix() throws {
    // 33 samples in tiles of 10: blocks 0-9, 10-19, 20-29 and the short last block 30-32.
    let manifest = try FaultHarness.npyManifest(in: work, samples: 33, tileSamples: 10)
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    let assembled = try CLIHarness.succeed(["assemble", run, "--dtype", "float64", "--output", "\(work)/full.npy", "--progress", "lines"])
    // Progress: GB done of the total, rate and ETA; the summary gives time and GB/s.
    XCTAssertTrue(assembled.stderr.contains("assemble: 0.00 of 0.00 GB (100%), ") && assembled.stderr.contains(" MB/s, ETA 00:00:00"), assembled.stderr)
    XCTAssertTrue(assembled.stdout.contains("wrote \(work)/full.npy: 330 × 330 float64, 871328 bytes on disk, 0.00 GB of matrix in "), assembled.stdout)
    XCTAssertTrue(assembled.stdout.hasSuffix(" GB/s)\n"), assembled.stdout)
    let full = try NpyArray.read(path: "\(work)/full.npy").doubles()
    let d = 330
    let cases: [(arguments: [String], rows: Range<Int>, columns: Range<Int>, classes: [Int])] = [
      (["--samples", "5:28"], 5..<28, 5..<28, Array(0..<10)),                       // crosses two tile boundaries
      (["--samples", "30:33"], 30..<33, 30..<33, Array(0..<10)),                    // the last short block
      (["--samples", "27:33,0:12"], 27..<33, 0..<12, Array(0..<10)),                // below the diagonal, ragged
      (["--samples", "0:33,12:31"], 0..<33, 12..<31, Array(0..<10)),
      (["--samples", "9:21", "--classes", "7,2,9"], 9..<21, 9..<21, [7, 2, 9]),
      (["--classes", "4"], 0..<33, 0..<33, [4]),
    ]
    for item in cases {
      let output = "\(work)/sub.npy"
      let result = try CLIHarness.succeed(["assemble", run, "--dtype", "float64", "--output", output, "--progress", "none"] + item.arguments)
      let k = item.classes.count
      XCTAssertTrue(result.stdout.contains("\(item.rows.count * k) × \(item.columns.count * k) float64"), result.stdout)
      let array = try NpyArray.read(path: output)
      XCTAssertEqual(array.shape, [item.rows.count * k, item.columns.count * k], "\(item.arguments)")
      var expected: [Double] = []
      for i in item.rows { for a in item.classes { for j in item.columns { for b in item.classes { expected.append(full[(i * 10 + a) * d + j * 10 + b]) } } } }
      XCTAssertEqual(array.doubles(), expected, "\(item.arguments)")
    }
  }

  /// Starts `assemble` and SIGKILLs it as soon as its temporary output appears; returns the
  /// leftover's path (retrying if the assemble finished first).
  private func killMidAssemble(_ arguments: [String], leftoverPrefix: String) throws -> String {
    for _ in 0..<20 {
      let logs = try CLIHarness.temporaryDirectory("kill-assemble")
      defer { try? FileManager.default.removeItem(atPath: logs) }
      let process = try CLIHarness.start(arguments, logDirectory: logs)
      var leftover: String?
      while process.isRunning && leftover == nil {
        leftover = try FileManager.default.contentsOfDirectory(atPath: work).first { $0.hasPrefix(leftoverPrefix) }
        if leftover == nil { usleep(200) }
      }
      if leftover != nil { usleep(UInt32.random(in: 0...20_000)) }
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      if process.terminationReason == .uncaughtSignal, let leftover, FileManager.default.fileExists(atPath: "\(work)/\(leftover)") {
        return "\(work)/\(leftover)"
      }
    }
    XCTFail("could not kill assemble while it was writing (20 attempts)")
    return ""
  }

  func testKilledAssembleLeavesNothingTheNextAssembleOrRepairDoesNotCleanUp() throws {
    let manifest = try FaultHarness.npyManifest(in: work, samples: 200, tileSamples: 20)
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    try CLIHarness.succeed(["assemble", run, "--dtype", "float64", "--output", "\(work)/reference.npy", "--progress", "none"])
    let reference = try FileBytes.read(path: "\(work)/reference.npy")

    for output in ["g.npy", "g.zarr"] {
      let arguments = ["assemble", run, "--dtype", "float64", "--output", "\(work)/\(output)", "--progress", "none"]
      // Killed, then assembled again: the leftover is removed and the output is complete.
      let leftover = try killMidAssemble(arguments, leftoverPrefix: ".\(output).tmp-")
      XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/\(output)"), "a killed assemble published \(output)")
      // A record of another output by a dead process: maybe another machine's, so not this assemble's to remove.
      let finished = Process()
      finished.executableURL = URL(fileURLWithPath: "/bin/true")
      try finished.run()
      finished.waitUntilExit()
      let otherRecord = "\(run)/assembling/\(finished.processIdentifier)-abc"
      try Data("/elsewhere/other.npy".utf8).write(to: URL(fileURLWithPath: otherRecord))
      XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(run)/assembling").count, 2, "the killed assemble's record and the other")
      let again = try CLIHarness.succeed(arguments)
      XCTAssertTrue(again.stdout.contains("removed leftover \(leftover) of an interrupted assemble"), again.stdout)
      XCTAssertFalse(FileManager.default.fileExists(atPath: leftover))
      // The killed assemble's record of this output went with its leftover.
      XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(run)/assembling"), ["\(finished.processIdentifier)-abc"])
      // Killed while replacing the finished output: the old output stays intact until the rename.
      let second = try killMidAssemble(arguments, leftoverPrefix: ".\(output).tmp-")
      XCTAssertTrue(FileManager.default.fileExists(atPath: "\(work)/\(output)"))
      // repair (which knows the run's in-progress assembles) removes it without another assemble.
      let repair = try CLIHarness.succeed(["repair", run])
      XCTAssertTrue(repair.stdout.contains("REMOVED temporary file \(second)"), repair.stdout)
      XCTAssertFalse(FileManager.default.fileExists(atPath: second))
      XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work).filter { $0.contains(".tmp-") }, [])
      XCTAssertFalse(FileManager.default.fileExists(atPath: "\(run)/assembling"), "repair removes every dead process's record, then the empty folder")
    }
    XCTAssertEqual(try FileBytes.read(path: "\(work)/g.npy"), reference)
  }

  func testBadSelectionsAndChunksAreOneLineErrors() throws {
    let manifest = try FaultHarness.npyManifest(in: work, samples: 12, tileSamples: 5)
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    let cases: [([String], Int32, String)] = [
      (["--samples", "10:14", "--output", "\(work)/g.npy"], 2, "--samples: rows 10:14 must be a non-empty range within 0:12 (the run has 12 samples)"),
      (["--samples", "0:301", "--output", "\(work)/g.npy"], 2, "--samples: rows 0:301 must be a non-empty range within 0:12"),
      // Values checkable without the run: usage errors, 64.
      (["--classes", "3,3", "--output", "\(work)/g.npy"], 64, "--classes: expected distinct classes within 0…9, found 3,3"),
      (["--classes", "10", "--output", "\(work)/g.npy"], 64, "--classes: expected distinct classes within 0…9, found 10"),
      (["--classes", "1, 2", "--output", "\(work)/g.npy"], 64, "--classes: expected a list like 0,3,7, found 1, 2"),
      (["--chunk", "15", "--output", "\(work)/g.zarr"], 64, "--chunk: expected a positive multiple of 10 (the classes per sample), found 15"),
      (["--chunk", "0", "--output", "\(work)/g.zarr"], 64, "--chunk: expected a positive multiple of 10 (the classes per sample), found 0"),
      (["--chunk", "20", "--classes", "0,1,2", "--output", "\(work)/g.zarr"], 64, "--chunk: expected a positive multiple of 3 (the classes per sample), found 20"),
      (["--samples", "5:3", "--output", "\(work)/g.npy"], 64, "--samples: expected A:B with 0 ≤ A < B, found 5:3"),
      (["--chunk", "20", "--output", "\(work)/g.npy"], 64, "apply to Zarr output only"),
      (["--zarr-format", "4", "--output", "\(work)/g.zarr"], 64, "--zarr-format must be 2 or 3"),
      (["--output", work], 2, "contains the run directory \(run)"),  // it would delete the run
    ]
    for (arguments, status, message) in cases {
      let result = try CLIHarness.run(["assemble", run, "--format", arguments.last!.hasSuffix(".npy") ? "npy" : "zarr"] + arguments)
      XCTAssertEqual(result.status, status, "\(arguments): \(result.stderr)")
      XCTAssertTrue(result.stderr.contains(message), "\(arguments): \(result.stderr)")
      if status == 2 { XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr) }
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/g.npy"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/g.zarr"))
  }

  /// Without --dtype, a float64 run assembles to float64 (npy and Zarr), byte-identical to
  /// `--dtype float64`; a float32 run to float32.
  func testDefaultDTypeIsTheRunPrecision() throws {
    for precision in ["float64", "float32"] {
      let manifest = try FaultHarness.mnistManifest(in: work, name: precision, subsample: 15, tileSamples: 10, precision: precision)
      let run = "\(work)/run-\(precision)"
      try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
      let plain = try CLIHarness.succeed(["assemble", run, "--output", "\(work)/\(precision).npy", "--progress", "none"])
      XCTAssertTrue(plain.stdout.contains("150 × 150 \(precision)"), plain.stdout)
      XCTAssertEqual(try NpyArray.read(path: "\(work)/\(precision).npy").dtype, precision == "float64" ? .float64 : .float32)
      try CLIHarness.succeed(["assemble", run, "--dtype", precision, "--output", "\(work)/\(precision)-explicit.npy", "--progress", "none"])
      XCTAssertEqual(try FileBytes.read(path: "\(work)/\(precision).npy"), try FileBytes.read(path: "\(work)/\(precision)-explicit.npy"))
      try CLIHarness.succeed(["assemble", run, "--output", "\(work)/\(precision).zarr", "--progress", "none"])
      let metadata = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(work)/\(precision).zarr/zarr.json"))) as? [String: Any]
      XCTAssertEqual(metadata?["data_type"] as? String, precision)
    }
  }

  /// --chunk beyond the array's extent is clamped to it (one chunk); a chunk of more than 256 MiB
  /// is refused in one line naming the largest allowed side (8,190 float32, 5,790 float64).
  func testChunkIsClampedToTheArrayAndBoundedInBytes() throws {
    let small = try FaultHarness.npyManifest(in: work, samples: 12, tileSamples: 5)
    try CLIHarness.succeed(["run", small, "--run-dir", "\(work)/small", "--progress", "none"])
    let clamped = try CLIHarness.succeed(["assemble", "\(work)/small", "--chunk", "30000", "--output", "\(work)/c.zarr", "--progress", "none"])
    XCTAssertTrue(clamped.stdout.contains("1 encoded"), clamped.stdout)
    let metadata = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(work)/c.zarr/zarr.json"))) as? [String: Any]
    let grid = (metadata?["chunk_grid"] as? [String: Any])?["configuration"] as? [String: Any]
    XCTAssertEqual(grid?["chunk_shape"] as? [Int], [120, 120])

    // 820 samples: 8,200 rows, one tile computed (the refusal needs the run's header only).
    let big = try CLIHarness.temporaryDirectory("assemble-big")
    defer { try? FileManager.default.removeItem(atPath: big) }
    let manifest = try FaultHarness.npyManifest(in: big, samples: 820, tileSamples: 10)
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(big)/run", "--progress", "none", "--max-tiles", "1"])
    for (arguments, message) in [
      (["--chunk", "8200"], "--chunk: 8200 rows and columns of 4-byte values is 256.5 MiB per chunk, more than 256 MiB; the largest allowed is 8190"),
      (["--chunk", "5800", "--dtype", "float64"], "--chunk: 5800 rows and columns of 8-byte values is 256.7 MiB per chunk, more than 256 MiB; the largest allowed is 5790"),
    ] {
      let result = try CLIHarness.run(["assemble", "\(big)/run", "--allow-partial", "--output", "\(big)/g.zarr", "--progress", "none"] + arguments)
      XCTAssertEqual(result.status, 2, result.stderr)
      XCTAssertTrue(result.stderr.contains(message), result.stderr)
      XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
      XCTAssertFalse(FileManager.default.fileExists(atPath: "\(big)/g.zarr"))
    }
  }
}
