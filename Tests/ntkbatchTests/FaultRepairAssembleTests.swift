import Foundation
import Storage
import XCTest

/// `repair` (drops missing and damaged objects' tiles, removes orphans and temporary files) and
/// `assemble --allow-partial` (NaN for missing tiles, a `.missing.json` mask naming them).
final class FaultRepairAssembleTests: NpyManifestTestCase {
  // LeNet on 30 samples in tiles of 10: tiles 0 (0, 0), 1 (0, 1), 2 (0, 2), 3 (1, 1), 4 (1, 2), 5 (2, 2).
  override class var folderLabel: String { "repair-assemble" }

  func floats(_ npy: [UInt8]) throws -> [Float] {
    let array = try NpyArray(bytes: npy, path: "assembled")
    XCTAssertEqual(array.shape, [300, 300])
    return array.doubles().map { Float($0) }
  }

  func testAllowPartialWritesNaNForMissingTilesAndAMask() throws {
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/full", "--progress", "none"])
    let reference = try floats(FaultHarness.assembled("\(work)/full", output: "\(work)/full.npy"))
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/run", "--progress", "none", "--max-tiles", "2"])

    let refused = try FaultHarness.run(["assemble", "\(work)/run", "--output", "\(work)/g.npy"])
    XCTAssertEqual(refused.status, 1, refused.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/g.npy"))

    let partial = try CLIHarness.succeed(["assemble", "\(work)/run", "--output", "\(work)/g.npy", "--allow-partial"])
    XCTAssertTrue(partial.stdout.contains("4 missing tiles"), partial.stdout)
    let mask = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(work)/g.npy.missing.json"))) as? [String: Any])
    XCTAssertEqual(mask["dimension"] as? Int, 300)
    XCTAssertEqual(mask["tilesTotal"] as? Int, 6)
    let missing = try XCTUnwrap(mask["missingTiles"] as? [[String: Any]])
    XCTAssertEqual(missing.map { $0["index"] as? Int }, [2, 3, 4, 5])
    XCTAssertEqual(missing.map { [$0["I"] as? Int, $0["J"] as? Int] }, [[0, 2], [1, 1], [1, 2], [2, 2]])
    let first = try XCTUnwrap(missing.first)
    XCTAssertEqual((first["samples"] as? [String: [Int]])?["rows"], [0, 10])
    XCTAssertEqual((first["samples"] as? [String: [Int]])?["columns"], [20, 30])
    XCTAssertEqual((first["matrix"] as? [String: [Int]])?["columns"], [200, 300])

    // Journaled tiles (0, 0) and (0, 1) and their transposes equal the full run's; the rest is NaN.
    let values = try floats(FileBytes.read(path: "\(work)/g.npy"))
    for row in 0..<300 {
      for column in 0..<300 {
        let (I, J) = (min(row, column) / 100, max(row, column) / 100)
        let value = values[row * 300 + column]
        if I == 0 && J <= 1 {
          XCTAssertEqual(value, reference[row * 300 + column], "(\(row), \(column))")
        } else if !value.isNaN {
          return XCTFail("(\(row), \(column)) of a missing tile is \(value), expected NaN")
        }
      }
    }

    // Finished: --allow-partial gives the complete matrix and no mask (the stale one removed).
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/run", "--progress", "none"])
    let complete = try CLIHarness.succeed(["assemble", "\(work)/run", "--output", "\(work)/g.npy", "--allow-partial"])
    XCTAssertTrue(complete.stdout.contains("no tiles missing: no mask written"), complete.stdout)
    XCTAssertTrue(complete.stdout.contains("removed \(work)/g.npy.missing.json of an earlier partial assemble"), complete.stdout)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/g.npy.missing.json"))
    XCTAssertEqual(try FileBytes.read(path: "\(work)/g.npy"), try FileBytes.read(path: "\(work)/full.npy"))
  }

  func testRepairDropsMissingAndDamagedObjectsAndRemovesOrphansAndTemporaryFiles() throws {
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/full", "--progress", "none"])
    let reference = try FaultHarness.assembled("\(work)/full", output: "\(work)/full.npy")
    let run = "\(work)/run"
    try FaultHarness.copy("\(work)/full", to: run)
    let objects = try FaultHarness.journaledObjects(run)
    let damaged = try XCTUnwrap(objects[1])
    let removed = try XCTUnwrap(objects[4])
    try FaultHarness.truncate(FaultHarness.objectPath(run, damaged), to: 10)
    try FileManager.default.removeItem(atPath: FaultHarness.objectPath(run, removed))
    let orphan = String(repeating: "ab", count: 32)
    try FileManager.default.createDirectory(atPath: "\(run)/objects/ab", withIntermediateDirectories: true)
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: FaultHarness.objectPath(run, orphan)))
    // A writer gone (no process 99999999): a crash's leftover (a live pid's is a writer's object in progress).
    let temporary = "\(run)/objects/ab/.\(orphan.dropFirst(2)).tmp-99999999-2"
    try Data([4]).write(to: URL(fileURLWithPath: temporary))

    let before = try FaultHarness.run(["verify", run])
    XCTAssertEqual(before.status, 1)
    XCTAssertTrue(before.stdout.contains("1 orphan object ") && before.stdout.contains("1 temporary file "), before.stdout)
    // Orphans may also be tiles whose records were lost (tester-s13 #3): run recomputes them.
    XCTAssertTrue(before.stdout.contains("or named by journal records since lost; `ntkbatch run` computes every tile not journaled"), before.stdout)

    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("DROPPED tile 1 (0, 1)"), repair.stdout)
    XCTAssertTrue(repair.stdout.contains("DROPPED tile 4 (1, 2)"), repair.stdout)
    XCTAssertTrue(repair.stdout.contains("REMOVED orphan object \(orphan)"), repair.stdout)
    XCTAssertTrue(repair.stdout.contains("REMOVED orphan object \(damaged)"), repair.stdout)
    XCTAssertTrue(repair.stdout.contains("REMOVED temporary file \(temporary)"), repair.stdout)
    XCTAssertFalse(FileManager.default.fileExists(atPath: temporary))
    XCTAssertFalse(FileManager.default.fileExists(atPath: FaultHarness.objectPath(run, orphan)))

    let after = try CLIHarness.succeed(["verify", run])
    XCTAssertTrue(after.stdout.contains("4 of 4 journaled tiles intact; 2 tiles not computed yet"), after.stdout)
    let status = try CLIHarness.succeed(["status", run])
    XCTAssertTrue(status.stdout.contains("tiles:    4/6"), status.stdout)
    let resumed = try FaultHarness.run(["run", manifest, "--run-dir", run, "--progress", "tiles"])
    XCTAssertEqual(FaultHarness.tileLines(resumed.stdout), [1, 4], resumed.stderr)
    XCTAssertTrue(try FaultHarness.assembled(run, output: "\(work)/run.npy") == reference)
    XCTAssertTrue(try CLIHarness.succeed(["repair", run]).stdout.contains("nothing to repair"))
  }
}
