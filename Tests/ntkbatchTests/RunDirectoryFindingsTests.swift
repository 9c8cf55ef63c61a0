import Foundation
import Storage
import XCTest

/// A fresh tester's findings on the run directory: `verify` names missing derived files and
/// temporaries a killed writer left in the run directory itself, `repair` removes those; `run`
/// rewrites stale labels; `check` plans the tile size `run` journals; the Zarr attribute is named
/// as the journal names it; `check` says the network is trained first.
final class RunDirectoryFindingsTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("findings3") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  static let mnist = "\(CLIHarness.repositoryRoot)/data/mnist-sample"

  /// LeNet over `rows` MNIST digits, with `columns` digits as a cross run's columns.
  func manifest(name: String, rows: Int, columns: Int? = nil, tileSamples: Any = 10, budget: Int? = nil,
                model: [String: Any] = ["name": "lenet", "seed": 0]) throws -> String {
    var ntk: [String: Any] = ["precision": "float32", "normalization": "sqrt-params", "tileSamples": tileSamples]
    if let budget { ntk["memoryBudget"] = budget }
    var object: [String: Any] = [
      "name": name, "dataset": ["name": "mnist", "root": Self.mnist, "subsample": rows], "model": model, "ntk": ntk,
    ]
    if let columns { object["columns"] = ["name": "mnist", "root": Self.mnist, "subsample": columns] }
    return try CLIHarness.writeManifest(object, in: work, name: name)
  }

  func identity(of run: String) throws -> [String: Any] {
    let status = try CLIHarness.succeed(["status", run, "--json"])
    let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
    return try XCTUnwrap(object["identity"] as? [String: Any], status.stdout)
  }

  func int64Array(_ values: [Int64]) -> [UInt8] {
    NpyArray(header: NpyHeader(dtype: .int64, shape: [values.count]), data: values.withUnsafeBytes { Array($0) }).encoded()
  }

  /// Item 6: one MISSING line per missing derived file, exit 0 while the tiles are intact; labels
  /// are expected only for datasets with labels.
  func testVerifyNamesMissingDerivedFilesAndStillExitsZero() throws {
    let cross = "\(work)/cross"
    try CLIHarness.succeed(["run", try manifest(name: "cross", rows: 20, columns: 30), "--run-dir", cross, "--progress", "none"])
    let clean = try CLIHarness.succeed(["verify", cross])
    XCTAssertFalse(clean.stdout.contains("MISSING"), clean.stdout)
    for name in ["logits.npy", "labels.npy", "columns-logits.npy", "columns-labels.npy"] {
      try FileManager.default.removeItem(atPath: "\(cross)/\(name)")
    }
    let verify = try CLIHarness.run(["verify", cross])
    XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
    let missing = verify.stdout.split(separator: "\n").filter { $0.hasPrefix("MISSING") }.map(String.init)
    XCTAssertEqual(missing, ["logits.npy", "labels.npy", "columns-logits.npy", "columns-labels.npy"].map {
      "MISSING \(cross)/\($0): `ntkbatch run` writes it again"
    })
    XCTAssertTrue(verify.stdout.contains("6 of 6 journaled tiles intact"), verify.stdout)

    // An npy dataset has no labels: only its logits are expected.
    let npy = "\(work)/npy"
    try CLIHarness.succeed(["run", try FaultHarness.npyManifest(in: work, samples: 6, tileSamples: 3), "--run-dir", npy, "--progress", "none"])
    try FileManager.default.removeItem(atPath: "\(npy)/logits.npy")
    let npyVerify = try CLIHarness.succeed(["verify", npy])
    XCTAssertEqual(npyVerify.stdout.split(separator: "\n").filter { $0.hasPrefix("MISSING") }, ["MISSING \(npy)/logits.npy: `ntkbatch run` writes it again"])
  }

  /// Item 7: an AtomicFile temporary of a dead writer in the run directory root (what `kill -9`
  /// during `run` leaves: `.logits.npy.tmp-<pid>-<hex>`) is reported by verify and removed by
  /// repair; one of a live process is neither.
  func testRunRootTemporaryOfADeadWriterIsReportedAndRepaired() throws {
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", try manifest(name: "square", rows: 20), "--run-dir", run, "--progress", "none"])
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/bin/sh")
    child.arguments = ["-c", "exit 0"]
    try child.run()
    child.waitUntilExit()
    let dead = "\(run)/.logits.npy.tmp-\(child.processIdentifier)-9c1f0e2d"
    let live = "\(run)/.labels.npy.tmp-\(getpid())-77aa"
    try Data(try FileBytes.read(path: "\(run)/logits.npy").prefix(100)).write(to: URL(fileURLWithPath: dead))
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: live))

    let verify = try CLIHarness.succeed(["verify", run])
    XCTAssertTrue(verify.stdout.contains("TEMPORARY \(dead): left by a writer that is no longer running"), verify.stdout)
    XCTAssertFalse(verify.stdout.contains(live), verify.stdout)
    XCTAssertTrue(verify.stdout.contains("1 temporary file left by a crash"), verify.stdout)
    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("REMOVED temporary file \(dead)"), repair.stdout)
    XCTAssertFalse(FileManager.default.fileExists(atPath: dead))
    XCTAssertTrue(FileManager.default.fileExists(atPath: live), "a live writer's temporary was removed")
    let after = try CLIHarness.succeed(["verify", run])
    XCTAssertFalse(after.stdout.contains("TEMPORARY"), after.stdout)
  }

  /// Item 8: well-formed but wrong labels (not part of the identity) are rewritten by `run`,
  /// which computes no tile; the same for a cross run's columns-labels.npy.
  func testRunRewritesWrongButWellFormedLabels() throws {
    let cross = "\(work)/cross"
    let path = try manifest(name: "cross", rows: 20, columns: 30)
    try CLIHarness.succeed(["run", path, "--run-dir", cross, "--progress", "none"])
    let labels = try FileBytes.read(path: "\(cross)/labels.npy")
    let columnLabels = try FileBytes.read(path: "\(cross)/columns-labels.npy")
    try Data(int64Array(Array(repeating: 9, count: 20))).write(to: URL(fileURLWithPath: "\(cross)/labels.npy"))
    try Data(int64Array(Array(repeating: 0, count: 30))).write(to: URL(fileURLWithPath: "\(cross)/columns-labels.npy"))
    XCTAssertNotEqual(try FileBytes.read(path: "\(cross)/labels.npy"), labels)
    // Well-formed, so only their SHA-256 (RUN/checksums.json) tells.
    let verify = try CLIHarness.run(["verify", cross])
    XCTAssertEqual(verify.status, 1, verify.stdout + verify.stderr)
    for name in ["labels.npy", "columns-labels.npy"] {
      XCTAssertTrue(verify.stdout.contains("DAMAGED \(cross)/\(name): SHA-256 "), verify.stdout)
    }
    let again = try CLIHarness.succeed(["run", path, "--run-dir", cross, "--progress", "tiles"])
    XCTAssertEqual(FaultHarness.tileLines(again.stdout), [], again.stdout)
    XCTAssertEqual(try FileBytes.read(path: "\(cross)/labels.npy"), labels)
    XCTAssertEqual(try FileBytes.read(path: "\(cross)/columns-labels.npy"), columnLabels)
    XCTAssertTrue(try NpyArray(bytes: labels, path: "labels").int64s().contains { $0 != 9 }, "the shipped digits are not all 9s")
  }

  /// A flipped bit that leaves a finite float64 in logits.npy or columns-logits.npy is caught by
  /// its SHA-256 in RUN/checksums.json: `verify` names the file (exit 1), `repair` removes it,
  /// `run` writes it again byte for byte. A run directory without checksums.json (older
  /// versions) verifies, and `run` adds the checksums.
  func testAFiniteBitFlipInTheLogitsIsNamedRepairedAndRewritten() throws {
    let cross = "\(work)/cross"
    let path = try manifest(name: "cross", rows: 20, columns: 30)
    try CLIHarness.succeed(["run", path, "--run-dir", cross, "--progress", "none"])
    let checksums = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try FileBytes.read(path: "\(cross)/checksums.json"))) as? [String: Any])
    let sums = try XCTUnwrap(checksums["sha256"] as? [String: String])
    XCTAssertEqual(Set(sums.keys), ["logits.npy", "labels.npy", "columns-logits.npy", "columns-labels.npy"])
    XCTAssertEqual(sums["logits.npy"], ContentHash.sha256(try FileBytes.read(path: "\(cross)/logits.npy")).hex)
    let originals = try ["logits.npy", "columns-logits.npy"].map { try FileBytes.read(path: "\(cross)/\($0)") }
    for (name, original) in zip(["logits.npy", "columns-logits.npy"], originals) {
      var flipped = original
      flipped[flipped.count - 8] ^= 1  // lowest mantissa bit of the last value: still finite
      try Data(flipped).write(to: URL(fileURLWithPath: "\(cross)/\(name)"))
      XCTAssertTrue(try NpyArray(bytes: flipped, path: name).doubles().allSatisfy(\.isFinite))
      let verify = try CLIHarness.run(["verify", cross])
      XCTAssertEqual(verify.status, 1, verify.stdout + verify.stderr)
      XCTAssertTrue(verify.stdout.contains("DAMAGED \(cross)/\(name): SHA-256 "), verify.stdout)
      let repair = try CLIHarness.succeed(["repair", cross])
      XCTAssertTrue(repair.stdout.contains("REMOVED damaged \(cross)/\(name) (SHA-256 "), repair.stdout)
      XCTAssertFalse(FileManager.default.fileExists(atPath: "\(cross)/\(name)"))
      let again = try CLIHarness.succeed(["run", path, "--run-dir", cross, "--progress", "tiles"])
      XCTAssertEqual(FaultHarness.tileLines(again.stdout), [], again.stdout)
      XCTAssertEqual(try FileBytes.read(path: "\(cross)/\(name)"), original, name)
      try CLIHarness.succeed(["verify", cross])
    }
    // An older run directory without checksums: intact, and run records them.
    try FileManager.default.removeItem(atPath: "\(cross)/checksums.json")
    let old = try CLIHarness.succeed(["verify", cross])
    XCTAssertFalse(old.stdout.contains("DAMAGED"), old.stdout)
    try CLIHarness.succeed(["run", path, "--run-dir", cross, "--progress", "none"])
    let added = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try FileBytes.read(path: "\(cross)/checksums.json"))) as? [String: Any])
    XCTAssertEqual(added["sha256"] as? [String: String], sums)
  }

  /// The tile size `check` prints on its plan line, and the MiB its memory line leaves between the
  /// estimated peak and the budget.
  func checkedTileSamples(_ manifest: String) throws -> (tileSamples: Int, headroomMiB: Int) {
    let check = try CLIHarness.succeed(["check", manifest])
    let lines = check.stdout.split(separator: "\n")
    let plan = try XCTUnwrap(lines.first { $0.hasPrefix("plan:") }, check.stdout)
    let words = plan.split(separator: " ")
    let index = try XCTUnwrap(words.firstIndex { $0.hasPrefix("samples") }, String(plan))
    let memory = try XCTUnwrap(lines.first { $0.hasPrefix("memory:") }, check.stdout).split(separator: " ")
    let budget = try XCTUnwrap(memory.firstIndex(of: "budget").flatMap { Int(memory[$0 + 1]) }, check.stdout)
    let peak = try XCTUnwrap(memory.firstIndex(of: "peak").flatMap { Int(memory[$0 + 1]) }, check.stdout)
    return (try XCTUnwrap(Int(words[index - 1]), String(plan)), budget - peak)
  }

  /// Item 9: `tileSamples: "auto"` resolves to the same size in `check` and in the journal of
  /// `run`, for a cross and a square manifest.
  func testCheckPrintsTheTileSizeRunJournals() throws {
    let model: [String: Any] = ["name": "resnet18", "width": 4]
    for (name, rows, columns) in [("cross-auto", 600, Optional(120)), ("square-auto", 240, nil)] {
      let path = try manifest(name: name, rows: rows, columns: columns, tileSamples: "auto", budget: 300_000_000, model: model)
      let (checked, headroom) = try checkedTileSamples(path)
      let run = "\(work)/\(name)"
      try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none", "--max-tiles", "1"])
      let journaled = try XCTUnwrap(identity(of: run)["tileSamples"] as? Int)
      // The same function plans both; only the base each process measures (its resident size,
      // a few MiB apart between invocations — README: leave that margin) can move a plan that
      // sits within a few MiB of the budget by one sample (seen: 65 against 66).
      if checked != journaled {
        XCTAssertEqual(abs(checked - journaled), 1, name)
        XCTAssertLessThanOrEqual(headroom, 8, "\(name): check's plan is \(headroom) MiB under the budget, not at its edge")
      }
      XCTAssertLessThan(journaled, columns ?? rows, "\(name): the budget must bound the tile")
    }
  }

  /// Item 10: the Zarr attribute is `columnInputDataHash`, as the journal names it; `check` of a
  /// manifest with model.train says the network is trained first.
  func testZarrAttributeNameAndCheckSaysTrainedFirst() throws {
    let cross = "\(work)/cross"
    try CLIHarness.succeed(["run", try manifest(name: "cross", rows: 20, columns: 30), "--run-dir", cross, "--progress", "none"])
    try CLIHarness.succeed(["assemble", cross, "--output", "\(work)/cross.zarr"])
    let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(work)/cross.zarr/zarr.json"))) as! [String: Any]
    let attributes = meta["attributes"] as! [String: Any]
    XCTAssertNil(attributes["columnsInputDataHash"])
    let hash = try XCTUnwrap(identity(of: cross)["columnInputDataHash"] as? String)
    XCTAssertEqual(attributes["columnInputDataHash"] as? String, hash)

    let trained = try manifest(name: "trained", rows: 20, model: [
      "name": "lenet", "seed": 0, "train": ["epochs": 2, "lr": 0.05, "batchSize": 50, "samples": 300, "seed": 0],
    ])
    let check = try CLIHarness.succeed(["check", trained])
    XCTAssertTrue(check.stdout.contains("weights init (seed 0), trained first: 2 epochs on 300 samples"), check.stdout)
  }
}
