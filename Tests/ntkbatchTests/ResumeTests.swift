import Foundation
import Storage
import XCTest

/// Crash safety of `run`: SIGKILL part-way, resume, and the assembled eNTK is byte-identical to an
/// uninterrupted run's; no journaled tile is computed twice; damaged objects are named by `verify`.
final class ResumeTests: XCTestCase {
  /// LeNet on the shipped MNIST sample: 240 samples in 12-sample tiles = 20 blocks, 210 tiles.
  func mnistManifest(in directory: String, subsample: Int = 240, tileSamples: Int = 12, seed: Int = 0) throws -> String {
    try CLIHarness.writeManifest([
      "name": "resume",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": subsample],
      "model": ["name": "lenet", "seed": seed],
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": tileSamples],
    ], in: directory)
  }

  /// Tile indices that one session reported as journaled (`--progress tiles` prints `tile INDEX …`).
  func journaledTiles(in stdout: String) -> [Int] {
    stdout.split(separator: "\n").compactMap { line in
      let words = line.split(separator: " ")
      return words.count >= 2 && words[0] == "tile" ? Int(words[1]) : nil
    }
  }

  func testSIGKILLAndResumeGivesByteIdenticalMatrixWithoutRecomputation() throws {
    let work = try CLIHarness.temporaryDirectory("resume")
    defer { try? FileManager.default.removeItem(atPath: work) }
    let manifest = try mnistManifest(in: work)

    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/straight", "--progress", "none"])
    try CLIHarness.succeed(["assemble", "\(work)/straight", "--dtype", "float32", "--output", "\(work)/straight.npy"])

    var seen: [Int] = []
    var kills = 0
    var generator = SystemRandomNumberGenerator()
    for session in 0..<40 {
      let logs = "\(work)/session-\(session)"
      try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
      let process = try CLIHarness.start(["run", manifest, "--run-dir", "\(work)/killed", "--progress", "tiles"], logDirectory: logs)
      // Let it journal a random number of tiles, then kill it at a random moment after that.
      let target = Int.random(in: 1...12, using: &generator)
      let deadline = Date().addingTimeInterval(60)
      while process.isRunning, Date() < deadline,
            journaledTiles(in: CLIHarness.log(logs, "stdout")).count < target {
        usleep(2_000)
      }
      usleep(UInt32.random(in: 0...20_000, using: &generator))
      // The last session runs to the end (the 40 random kills journal ~260 tiles on average, but
      // about one series in a hundred journals fewer than the 210 tiles of the plan).
      if process.isRunning, session < 39 {
        kill(process.processIdentifier, SIGKILL)
        kills += 1
      }
      process.waitUntilExit()
      let stdout = try String(contentsOfFile: logs + "/stdout.log", encoding: .utf8)
      seen += journaledTiles(in: stdout)
      if process.terminationReason == .exit {
        XCTAssertEqual(process.terminationStatus, 0, CLIHarness.log(logs, "stderr"))
        break
      }
    }
    XCTAssertGreaterThanOrEqual(kills, 2, "the run finished before it could be killed twice; make it longer")
    // A tile journaled just before a kill may go unprinted; the journal itself lists every tile once.
    XCTAssertEqual(seen.count, Set(seen).count, "a journaled tile was computed again after a restart")
    XCTAssertTrue(Set(seen).isSubset(of: Set(0..<210)))
    let status = try CLIHarness.succeed(["status", "\(work)/killed", "--json"])
    let tiles = (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as! [String: Any])["tiles"] as! [[String: Any]]
    XCTAssertEqual(tiles.map { $0["index"] as! Int }.sorted(), Array(0..<210))

    try CLIHarness.succeed(["verify", "\(work)/killed"])
    try CLIHarness.succeed(["assemble", "\(work)/killed", "--dtype", "float32", "--output", "\(work)/killed.npy"])
    let straight = try FileBytes.read(path: "\(work)/straight.npy")
    let resumed = try FileBytes.read(path: "\(work)/killed.npy")
    XCTAssertEqual(straight.count, NpyHeader(dtype: .float32, shape: [2400, 2400]).encoded().count + 2400 * 2400 * 4)
    XCTAssertTrue(straight == resumed, "resumed eNTK differs from the uninterrupted run's")
  }

  func testVerifyNamesTheTileWhoseObjectHasAFlippedByte() throws {
    let work = try CLIHarness.temporaryDirectory("verify")
    defer { try? FileManager.default.removeItem(atPath: work) }
    let manifest = try mnistManifest(in: work, subsample: 30, tileSamples: 10)
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/run", "--progress", "none"])
    try CLIHarness.succeed(["verify", "\(work)/run"])

    // Find the object of tile (0, 2) through status --json and flip one byte of it.
    let status = try CLIHarness.succeed(["status", "\(work)/run", "--json"])
    let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as! [String: Any]
    let tiles = json["tiles"] as! [[String: Any]]
    let target = tiles.first { ($0["row"] as! Int) == 0 && ($0["column"] as! Int) == 2 }!
    let hash = target["hash"] as! String
    let objectPath = "\(work)/run/objects/\(hash.prefix(2))/\(hash.dropFirst(2))"
    var bytes = try FileBytes.read(path: objectPath)
    bytes[bytes.count / 2] ^= 0x40
    try Data(bytes).write(to: URL(fileURLWithPath: objectPath))

    let result = try CLIHarness.run(["verify", "\(work)/run"])
    XCTAssertNotEqual(result.status, 0)
    let report = result.stdout + result.stderr
    XCTAssertTrue(report.contains("(0, 2)"), report)
    XCTAssertFalse(report.contains("(0, 1)"), report)
  }

  func testResumeWithAChangedManifestIsRefused() throws {
    let work = try CLIHarness.temporaryDirectory("changed")
    defer { try? FileManager.default.removeItem(atPath: work) }
    let manifest = try mnistManifest(in: work, subsample: 20, tileSamples: 10)
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/run", "--progress", "none"])
    let other = try mnistManifest(in: work, subsample: 20, tileSamples: 10, seed: 1)
    let result = try CLIHarness.run(["run", other, "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertEqual(result.status, 2, result.stderr)
    XCTAssertTrue(result.stderr.contains("manifest") || result.stderr.contains("weights"), result.stderr)
    try CLIHarness.succeed(["verify", "\(work)/run"])
  }

  func testAssembleRefusesWhileTilesAreMissing() throws {
    let work = try CLIHarness.temporaryDirectory("partial")
    defer { try? FileManager.default.removeItem(atPath: work) }
    let manifest = try mnistManifest(in: work, subsample: 30, tileSamples: 10)
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/run", "--progress", "none", "--max-tiles", "2"])
    let result = try CLIHarness.run(["assemble", "\(work)/run", "--dtype", "float32", "--output", "\(work)/g.npy"])
    XCTAssertNotEqual(result.status, 0)
    XCTAssertTrue(result.stderr.contains("4 of 6 tiles"), result.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/g.npy"))
  }
}
