import Foundation
import Storage
import XCTest

/// A run moved to other disks resumes: a manifest that differs from `RUN/manifest.json` only in
/// where the data or weights are (`dataset.root`, `columns.root`, `model.weights`) or in `name` is
/// the same computation (the identity's input-data and weights hashes cover the contents); any
/// other field still refuses, naming it.
final class RelocatedRunTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("relocated") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  func manifest(name: String, root: String, folder: String, seed: Int = 0) throws -> String {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let object: [String: Any] = [
      "name": name, "dataset": ["name": "mnist", "root": root, "subsample": 40],
      "model": ["name": "lenet", "seed": seed], "ntk": ["precision": "float32", "tileSamples": 10],
    ]
    return try CLIHarness.writeManifest(object, in: folder, name: name)
  }

  /// A copy of the shipped MNIST sample at `WORK/disk1/mnist` (a dataset that can be moved).
  func copiedSample() throws -> String {
    let original = "\(work)/disk1/mnist"
    try FileManager.default.createDirectory(atPath: "\(work)/disk1", withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: "\(CLIHarness.repositoryRoot)/data/mnist-sample", toPath: original)
    return original
  }

  func testAMovedRunResumesByteIdenticalAndOtherChangesStillRefuse() throws {
    let fm = FileManager.default
    let original = try copiedSample()
    let first = try manifest(name: "before", root: original, folder: "\(work)/m1")
    try CLIHarness.succeed(["run", first, "--run-dir", "\(work)/straight", "--progress", "none"])
    let expected = try FaultHarness.assembled("\(work)/straight", output: "\(work)/straight.npy")

    // 4 of 10 tiles, then the data move to another disk, the manifest to another folder, renamed,
    // with a trailing slash on the root.
    try CLIHarness.succeed(["run", first, "--run-dir", "\(work)/run", "--progress", "none", "--max-tiles", "4"])
    try fm.moveItem(atPath: original, toPath: "\(work)/disk2-mnist")
    let moved = try manifest(name: "after", root: "\(work)/disk2-mnist/", folder: "\(work)/m2")
    let resumed = try CLIHarness.succeed(["run", moved, "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertTrue(resumed.stderr.contains("resuming a moved run (same data, weights and settings): dataset.root (run has \"\(original)\", now \"\(work)/disk2-mnist\")"), resumed.stderr)  // as RUN/manifest.json records it
    XCTAssertTrue(resumed.stderr.contains("name (run has \"before\", now \"after\")"), resumed.stderr)
    XCTAssertEqual(try FaultHarness.journaledObjects("\(work)/run").count, 10)
    XCTAssertEqual(try FaultHarness.assembled("\(work)/run", output: "\(work)/run.npy"), expected, "byte-identical to the unmoved run")
    let saved = try String(contentsOfFile: "\(work)/run/manifest.json", encoding: .utf8)
    XCTAssertTrue(saved.contains("disk2-mnist"), "RUN/manifest.json says where the data are now: \(saved)")
    // Again with the same manifest: nothing differs from RUN/manifest.json any more.
    let again = try CLIHarness.succeed(["run", moved, "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertFalse(again.stderr.contains("moved run"), again.stderr)
    try CLIHarness.succeed(["verify", "\(work)/run"])
    XCTAssertEqual(try identityHash("\(work)/run"), try identityHash("\(work)/straight"), "the journal keeps its identity")

    // Another seed is another computation (other weights): refused, naming the field, nothing written.
    let objects = try FaultHarness.journaledObjects("\(work)/run")
    let other = try manifest(name: "after", root: "\(work)/disk2-mnist/", folder: "\(work)/m3", seed: 1)
    let refused = try CLIHarness.run(["run", other, "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertEqual(refused.status, 2, refused.stderr)
    XCTAssertTrue(refused.stderr.contains("first differing field model.seed (run has 0, now 1)"), refused.stderr)
    XCTAssertEqual(try FaultHarness.journaledObjects("\(work)/run"), objects)
    XCTAssertTrue(try String(contentsOfFile: "\(work)/run/manifest.json", encoding: .utf8).contains("disk2-mnist"))
  }

  /// A run moved and then moved back (tester-s9b H2): the journal's own manifest again, while
  /// `RUN/manifest.json` still had the locations of the move. It is rewritten, so that assemble's
  /// input guard protects the files the run reads now — also those under `dataset.root` — and
  /// `run RUN/manifest.json` finds them. A relative root written by a version before 0.8.1 is
  /// rewritten the same way.
  func testAMovedBackRunRewritesItsManifestAndTheInputGuardFollows() throws {
    let fm = FileManager.default
    let original = try copiedSample()
    let first = try manifest(name: "first", root: original, folder: "\(work)/m1")
    try CLIHarness.succeed(["run", first, "--run-dir", "\(work)/run", "--progress", "none", "--max-tiles", "4"])
    try fm.moveItem(atPath: original, toPath: "\(work)/disk2-mnist")
    let moved = try manifest(name: "first", root: "\(work)/disk2-mnist", folder: "\(work)/m2")
    try CLIHarness.succeed(["run", moved, "--run-dir", "\(work)/run", "--progress", "none", "--max-tiles", "2"])
    try fm.moveItem(atPath: "\(work)/disk2-mnist", toPath: original)

    let back = try CLIHarness.succeed(["run", first, "--run-dir", "\(work)/run", "--progress", "none", "--max-tiles", "2"])
    XCTAssertTrue(back.stderr.contains("resuming a moved run (same data, weights and settings): dataset.root (run has \"\(work)/disk2-mnist\", now \"\(original)\")"), back.stderr)
    func savedRoot() throws -> String? {
      let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(work)/run/manifest.json"))) as? [String: Any]
      return (saved?["dataset"] as? [String: Any])?["root"] as? String
    }
    XCTAssertEqual(try savedRoot(), original)

    // The root as an earlier version wrote it (relative to the manifest's folder): rewritten too.
    let text = try String(contentsOfFile: "\(work)/run/manifest.json", encoding: .utf8)
    try text.replacingOccurrences(of: "\"\(original)\"", with: "\"../disk1/mnist\"").write(toFile: "\(work)/run/manifest.json", atomically: true, encoding: .utf8)
    let relative = try CLIHarness.succeed(["run", first, "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertTrue(relative.stderr.contains("dataset.root (run has \"../disk1/mnist\", now \"\(original)\")"), relative.stderr)
    XCTAssertEqual(try savedRoot(), original)
    XCTAssertEqual(try FaultHarness.journaledObjects("\(work)/run").count, 10)
    let again = try CLIHarness.succeed(["run", "\(work)/run/manifest.json", "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertFalse(again.stderr.contains("moved run"), again.stderr)

    // assemble never writes over a file the dataset is read from, present or not (an absent
    // candidate would be read instead of the present one next time), also not with --overwrite.
    let images = "\(original)/train-images-idx3-ubyte.gz"
    let before = try FileBytes.read(path: images)
    for output in [images, "\(original)/train-images-idx3-ubyte"] {
      let refused = try CLIHarness.run(["assemble", "\(work)/run", "--output", output, "--overwrite", "--progress", "none"])
      XCTAssertEqual(refused.status, 2, refused.stdout + refused.stderr)
      XCTAssertEqual(refused.stderr, "ntkbatch: error: \(output): is the run's own input dataset.root (\(output), from \(work)/run/manifest.json); assemble does not replace a file the run reads (the run could no longer resume nor be checked): give another output (also not with --overwrite)\n")
    }
    XCTAssertEqual(try FileBytes.read(path: images), before)
    XCTAssertFalse(fm.fileExists(atPath: "\(original)/train-images-idx3-ubyte"))
    // Another name in the data's folder is an output like any other.
    try CLIHarness.succeed(["assemble", "\(work)/run", "--output", "\(original)/k.npy", "--progress", "none"])
    try CLIHarness.succeed(["verify", "\(work)/run"])
  }

  /// `RUN/manifest.json` names the data by absolute paths, so that it can be run itself from
  /// any folder: a manifest's relative paths are relative to its own folder, which the run does
  /// not record (the file used to keep `../data/mnist`, which from `RUN/` named nothing).
  func testRunManifestHoldsAbsolutePathsAndRunsFromAnyFolder() throws {
    let fm = FileManager.default
    try fm.createDirectory(atPath: "\(work)/data", withIntermediateDirectories: true)
    try fm.copyItem(atPath: "\(CLIHarness.repositoryRoot)/data/mnist-sample", toPath: "\(work)/data/mnist")
    let relative = try manifest(name: "relative", root: "../data/mnist", folder: "\(work)/m1")
    try CLIHarness.succeed(["run", relative, "--run-dir", "\(work)/run", "--progress", "none", "--max-tiles", "4"])
    let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(work)/run/manifest.json"))) as? [String: Any]
    XCTAssertEqual((saved?["dataset"] as? [String: Any])?["root"] as? String, "\(work)/data/mnist")
    // The run's own manifest finishes the run: same identity, the rest of the tiles, in that run
    // directory without --run-dir (tester-s9b M1: it started ./runs/<name>).
    let finished = try CLIHarness.succeed(["run", "\(work)/run/manifest.json", "--progress", "lines"])
    XCTAssertTrue(finished.stderr.contains("resuming with 4 already journaled"), finished.stderr)
    XCTAssertFalse(fm.fileExists(atPath: FileManager.default.currentDirectoryPath + "/runs/relative"))
    XCTAssertEqual(try FaultHarness.journaledObjects("\(work)/run").count, 10)
    try CLIHarness.succeed(["verify", "\(work)/run"])
    // And the manifest it came from still resumes it, nothing moved.
    let again = try CLIHarness.succeed(["run", relative, "--run-dir", "\(work)/run", "--progress", "lines"])
    XCTAssertTrue(again.stderr.contains("are journaled"), again.stderr)
    XCTAssertFalse(again.stderr.contains("moved run"), again.stderr)

    // A symbolic link followed by `..` is recorded as the system resolves it, not lexically
    // (tester-s9b: `deep/lnk/../data` with lnk → other/x was recorded as `deep/data`).
    try fm.createDirectory(atPath: "\(work)/other/x", withIntermediateDirectories: true)
    try fm.createDirectory(atPath: "\(work)/deep", withIntermediateDirectories: true)
    try fm.copyItem(atPath: "\(work)/data/mnist", toPath: "\(work)/other/mnist")
    try fm.createSymbolicLink(atPath: "\(work)/deep/lnk", withDestinationPath: "\(work)/other/x")
    let linked = try manifest(name: "linked", root: "../deep/lnk/../mnist", folder: "\(work)/m2")
    try CLIHarness.succeed(["run", linked, "--run-dir", "\(work)/linked", "--progress", "none", "--max-tiles", "1"])
    let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(work)/linked/manifest.json"))) as? [String: Any]
    XCTAssertEqual((record?["dataset"] as? [String: Any])?["root"] as? String, "\(work)/other/mnist")
  }

  /// A run with `model.train` moves too: same training data and initial weights, a manifest that
  /// differs only in `dataset.root` and `name` resumes training's checkpoints and the eNTK, and
  /// the matrix equals the unmoved run's byte for byte.
  func testAMovedTrainingRunResumesByteIdentical() throws {
    let fm = FileManager.default
    let original = try copiedSample()
    func trained(name: String, root: String, folder: String) throws -> String {
      try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
      return try CLIHarness.writeManifest([
        "name": name, "dataset": ["name": "mnist", "root": root, "subsample": 20],
        "model": ["name": "lenet", "seed": 0, "train": ["epochs": 2, "batchSize": 10, "samples": 20, "targetAccuracy": 1.0]],
        "ntk": ["precision": "float32", "tileSamples": 10],
      ], in: folder, name: name)
    }
    let first = try trained(name: "before", root: original, folder: "\(work)/m1")
    try CLIHarness.succeed(["run", first, "--run-dir", "\(work)/straight", "--progress", "none"])
    let expected = try FaultHarness.assembled("\(work)/straight", output: "\(work)/straight.npy")

    // Trained, 1 of 3 tiles; then the data move and the manifest is renamed.
    try CLIHarness.succeed(["run", first, "--run-dir", "\(work)/run", "--progress", "none", "--max-tiles", "1"])
    let latest = try FileBytes.read(path: "\(work)/run/training/latest.json")
    try fm.moveItem(atPath: original, toPath: "\(work)/disk2-mnist")
    let moved = try trained(name: "after", root: "\(work)/disk2-mnist", folder: "\(work)/m2")
    let resumed = try CLIHarness.succeed(["run", moved, "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertTrue(resumed.stderr.contains("dataset.root (run has \"\(original)\", now \"\(work)/disk2-mnist\")"), resumed.stderr)
    XCTAssertEqual(try FileBytes.read(path: "\(work)/run/training/latest.json"), latest, "training was not done again")
    XCTAssertEqual(try FaultHarness.journaledObjects("\(work)/run").count, 3)
    XCTAssertEqual(try FaultHarness.assembled("\(work)/run", output: "\(work)/run.npy"), expected, "byte-identical to the unmoved run")
    XCTAssertTrue(try String(contentsOfFile: "\(work)/run/manifest.json", encoding: .utf8).contains("disk2-mnist"))
    try CLIHarness.succeed(["run", moved, "--run-dir", "\(work)/run", "--progress", "none"])
    try CLIHarness.succeed(["verify", "\(work)/run"])

    // Other training settings are another training: refused.
    var other = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: moved))) as? [String: Any])
    other["model"] = ["name": "lenet", "seed": 0, "train": ["epochs": 2, "batchSize": 5, "samples": 20, "targetAccuracy": 1.0]]
    let refused = try CLIHarness.run(["run", try CLIHarness.writeManifest(other, in: "\(work)/m2", name: "other"), "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertEqual(refused.status, 2, refused.stderr)
    XCTAssertTrue(refused.stderr.contains("training checkpoints belong to another run"), refused.stderr)

    // Moved back: the record's own manifest again, RUN/manifest.json rewritten, said once.
    try fm.moveItem(atPath: "\(work)/disk2-mnist", toPath: original)
    let back = try CLIHarness.succeed(["run", first, "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertEqual(back.stderr.components(separatedBy: "dataset.root (run has \"\(work)/disk2-mnist\", now \"\(original)\")").count, 2, back.stderr)
    XCTAssertFalse(try String(contentsOfFile: "\(work)/run/manifest.json", encoding: .utf8).contains("disk2-mnist"))
    XCTAssertEqual(try FileBytes.read(path: "\(work)/run/training/latest.json"), latest)
  }

  func identityHash(_ run: String) throws -> String {
    let status = try CLIHarness.succeed(["status", run, "--json"])
    let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
    let identity = try XCTUnwrap(object["identity"] as? [String: Any], status.stdout)
    return try XCTUnwrap(identity["manifestHash"] as? String)
  }
}
