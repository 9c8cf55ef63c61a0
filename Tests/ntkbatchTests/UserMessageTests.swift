import Foundation
import Storage
import XCTest

/// A fresh tester's message findings: each problem is one line that names the file and says what
/// is wrong and what to do, exit 2 (bad input) or 1 (damage), nothing changed.
final class UserMessageTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("messages") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  private func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

  /// A FIFO given as the manifest is named as one (it was "permission denied"), without blocking.
  func testAFIFOAsTheManifestIsNamedAsOne() throws {
    let fifo = "\(work)/fifo.json"
    XCTAssertEqual(mkfifo(fifo, 0o644), 0)
    for command in ["check", "run"] {
      let result = try CLIHarness.run([command, fifo])
      XCTAssertEqual(result.status, 2, result.stderr)
      XCTAssertEqual(lines(result.stderr), ["ntkbatch: error: \(fifo): cannot read the manifest: is not a regular file (a FIFO, socket or device), expected a file"])
    }
  }

  /// status, verify and repair of a path that does not exist (a typo) or is a file say so,
  /// instead of "not a run directory".
  func testAMissingRunDirectoryIsNamedAsMissing() throws {
    let file = "\(work)/file"
    try Data("x".utf8).write(to: URL(fileURLWithPath: file))
    for command in ["status", "verify", "repair"] {
      let missing = try CLIHarness.run([command, "\(work)/nonexist"])
      XCTAssertEqual(missing.status, 2, missing.stderr)
      XCTAssertEqual(lines(missing.stderr), ["ntkbatch: error: \(work)/nonexist: no such directory (expected a run directory)"])
      let notADirectory = try CLIHarness.run([command, file])
      XCTAssertEqual(notADirectory.status, 2, notADirectory.stderr)
      XCTAssertEqual(lines(notADirectory.stderr), ["ntkbatch: error: \(file): not a directory (expected a run directory)"])
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/nonexist"))
  }

  /// A segment copied in from another journal under a later number says what it may be and that
  /// repair sets it aside; after repair the run verifies and finishes.
  func testAForeignSegmentNamesRepairWhichSetsItAside() throws {
    let manifest = try FaultHarness.npyManifest(in: work, samples: 12, tileSamples: 6)
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/other", "--progress", "none"])
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/run", "--progress", "none", "--max-tiles", "1"])
    let foreign = "\(work)/run/journal/segment-000009.log"
    try FileManager.default.copyItem(atPath: try XCTUnwrap(FaultHarness.segments(of: "\(work)/other").first), toPath: foreign)
    let status = try CLIHarness.run(["status", "\(work)/run"])
    XCTAssertEqual(status.status, 1, status.stderr)
    XCTAssertEqual(lines(status.stderr), ["ntkbatch: error: \(foreign): header says session 1, expected 9 (a segment renamed or copied from another journal?); `ntkbatch repair` sets it aside"])
    try CLIHarness.succeed(["repair", "\(work)/run"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: foreign))
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/run", "--progress", "none"])
    let verify = try CLIHarness.succeed(["verify", "\(work)/run"])
    XCTAssertTrue(verify.stdout.contains("3 of 3 journaled tiles intact"), verify.stdout)
    // A complete run says so, as the README does, sharded or not.
    let complete = try CLIHarness.succeed(["status", "\(work)/run"])
    XCTAssertTrue(complete.stdout.contains("eta:      run complete (next: ntkbatch verify, then ntkbatch assemble)"), complete.stdout)

    // Another computation's segment under the right session number: its identity differs, and the
    // error names repair too (a tester's finding: only the renamed segment's did).
    let otherManifest = try CLIHarness.writeManifest([
      "name": "other", "dataset": ["name": "npy", "path": "\(work)/inputs.npy"], "model": ["name": "lenet", "seed": 1],
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 6],
    ], in: work, name: "other-seed")
    let sessions = try FaultHarness.segments(of: "\(work)/run").count
    for _ in 0...sessions {  // one tile a session: its segment of session sessions + 1
      try CLIHarness.succeed(["run", otherManifest, "--run-dir", "\(work)/seed1", "--progress", "none", "--max-tiles", "1"])
    }
    let copied = "\(work)/run/journal/" + String(format: "segment-%06d.log", sessions + 1)
    try FileManager.default.copyItem(atPath: FaultHarness.segments(of: "\(work)/seed1")[sessions], toPath: copied)
    let differs = try CLIHarness.run(["status", "\(work)/run"])
    XCTAssertEqual(differs.status, 1, differs.stderr)
    XCTAssertEqual(lines(differs.stderr).count, 1, differs.stderr)
    XCTAssertTrue(differs.stderr.contains("\(copied): header identity differs from the first session's: "), differs.stderr)
    XCTAssertTrue(differs.stderr.hasSuffix("(a segment copied in from another run?); `ntkbatch repair` sets it aside\n"), differs.stderr)
    try CLIHarness.succeed(["repair", "\(work)/run"])
    XCTAssertTrue(try CLIHarness.succeed(["verify", "\(work)/run"]).stdout.contains("3 of 3 journaled tiles intact"))
  }

  /// An `npy` dataset with no images names the file (it was "tile plan: expected at least 1 sample").
  func testAnEmptyNpyDatasetNamesTheFile() throws {
    let path = "\(work)/empty.npy"
    try Data(NpyArray(shape: [0, 3, 32, 32], values: [Float]()).encoded()).write(to: URL(fileURLWithPath: path))
    let manifest = try CLIHarness.writeManifest([
      "name": "empty", "dataset": ["name": "npy", "path": path], "model": ["name": "lenet", "seed": 0],
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 6],
    ], in: work, name: "empty")
    for command in [["check", manifest], ["run", manifest, "--run-dir", "\(work)/r", "--progress", "none"]] {
      let result = try CLIHarness.run(command)
      XCTAssertEqual(result.status, 2, result.stderr)
      XCTAssertEqual(lines(result.stderr), ["ntkbatch: error: \(path): dataset.path holds no images (shape [0, 3, 32, 32]), expected [N, 3, 32, 32] with N ≥ 1"])
    }
  }

  /// `check` of a `diagonal` run does not speak of an upper triangle: it plans diagonal blocks.
  func testCheckOfTheDiagonalKernelSpeaksOfDiagonalBlocks() throws {
    _ = try FaultHarness.npyManifest(in: work, samples: 12, tileSamples: 6)
    let manifest = try CLIHarness.writeManifest([
      "name": "diag", "dataset": ["name": "npy", "path": "\(work)/inputs.npy"], "model": ["name": "lenet", "seed": 0],
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 6, "kernel": "diagonal"],
    ], in: work, name: "diag")
    let check = try CLIHarness.succeed(["check", manifest])
    // 2 tiles of [6, 10, 10] float32: 2 · 2,400 bytes.
    XCTAssertTrue(check.stdout.contains("disk:     objects up to 4.7 KiB (raw diagonal blocks; "), check.stdout)
  }
}
