import Foundation
import Storage
import XCTest

/// The findings of fresh tester s6 (README and binary only) fixed on issue-fixi.
final class TesterS6FindingsTests: XCTestCase {
  var work = ""
  var manifest = ""

  override func setUpWithError() throws {
    work = try CLIHarness.temporaryDirectory("tester-s6")
    // LeNet on 12 samples in tiles of 6: 3 tiles.
    manifest = try FaultHarness.npyManifest(in: work, samples: 12, tileSamples: 6)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  private func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

  // MARK: F16. --overwrite never replaces the run's own input files

  func testAssembleOverwriteRefusesTheRunsOwnDatasetFile() throws {
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    let inputs = "\(work)/inputs.npy"
    let before = try FileBytes.read(path: inputs)
    let refused = try CLIHarness.run(["assemble", run, "--output", inputs, "--overwrite", "--progress", "none"])
    XCTAssertEqual(refused.status, 2, refused.stdout + refused.stderr)
    XCTAssertEqual(lines(refused.stderr), ["ntkbatch: error: \(inputs): is the run's own input dataset.path (\(inputs), from \(run)/manifest.json); assemble does not replace a file the run reads (the run could no longer resume nor be checked): give another output (also not with --overwrite)"])
    XCTAssertEqual(try FileBytes.read(path: inputs), before)
    // A hard link to it is the same file.
    let link = "\(work)/link.npy"
    try FileManager.default.linkItem(atPath: inputs, toPath: link)
    let linked = try CLIHarness.run(["assemble", run, "--output", link, "--overwrite", "--progress", "none"])
    XCTAssertEqual(linked.status, 2, linked.stderr)
    XCTAssertTrue(linked.stderr.contains("is the run's own input dataset.path"), linked.stderr)
    XCTAssertEqual(try FileBytes.read(path: inputs), before)
    try CLIHarness.succeed(["verify", run])
    try CLIHarness.succeed(["assemble", run, "--output", "\(work)/k.npy", "--overwrite", "--progress", "none"])
  }

  /// LeNet trained 1 epoch on 20 MNIST digits (from `weights` if given), eNTK of those 20.
  private func trainManifest(_ name: String, weights: String?, runName: String? = nil) throws -> String {
    var model: [String: Any] = ["name": "lenet", "seed": 0, "train": ["epochs": 1, "lr": 0.01, "batchSize": 10, "seed": 0, "samples": 20]]
    if let weights { model["weights"] = weights }
    return try CLIHarness.writeManifest([
      "name": runName ?? name,
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 20],
      "model": model,
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 20],
    ], in: work, name: name)
  }

  func testExportWeightsOverwriteRefusesTheRunsInitialWeights() throws {
    try CLIHarness.succeed(["run", try trainManifest("first", weights: nil), "--run-dir", "\(work)/first", "--progress", "none"])
    let initial = "\(work)/initial.safetensors"
    try CLIHarness.succeed(["export-weights", "\(work)/first", "--output", initial])
    let tuned = "\(work)/tuned"
    try CLIHarness.succeed(["run", try trainManifest("tuned", weights: initial), "--run-dir", tuned, "--progress", "none"])
    let before = try FileBytes.read(path: initial)
    let refused = try CLIHarness.run(["export-weights", tuned, "--output", initial, "--overwrite"])
    XCTAssertEqual(refused.status, 2, refused.stdout + refused.stderr)
    XCTAssertEqual(lines(refused.stderr), ["ntkbatch: error: \(initial): is the run's own input model.weights (\(initial), from \(tuned)/manifest.json); export-weights does not replace a file the run reads (the run could no longer resume nor be checked): give another output (also not with --overwrite)"])
    XCTAssertEqual(try FileBytes.read(path: initial), before)
    try CLIHarness.succeed(["export-weights", tuned, "--output", "\(work)/tuned.safetensors"])
  }

  // MARK: F5. a journaled tile whose object is missing is damage, also for --allow-partial

  func testAllowPartialRefusesAMissingObjectOfAJournaledTileNamingTheTileAndRepair() throws {
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    let objects = "\(run)/objects"
    let folder = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: objects).sorted().first)
    let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: "\(objects)/\(folder)").first)
    let object = "\(objects)/\(folder)/\(name)"
    try FileManager.default.removeItem(atPath: object)
    var tileIndex = -1
    for output in ["\(work)/p.npy", "\(work)/p.zarr"] {
      for extra in [["--allow-partial"], []] {
        let refused = try CLIHarness.run(["assemble", run, "--output", output, "--progress", "none"] + extra)
        XCTAssertEqual(refused.status, 1, refused.stdout + refused.stderr)
        let line = try XCTUnwrap(lines(refused.stderr).first)
        XCTAssertEqual(lines(refused.stderr).count, 1, refused.stderr)
        let prefix = "ntkbatch: error: \(object): the object of tile "
        XCTAssertTrue(line.hasPrefix(prefix), line)
        XCTAssertTrue(line.hasSuffix("is missing, though the journal records the tile as computed: the run is damaged (this is not a tile not computed yet, which --allow-partial fills with NaN); run `ntkbatch repair \(run)` (it drops the tile; `run` then computes it again)"), line)
        tileIndex = Int(line.dropFirst(prefix.count).prefix { $0.isNumber }) ?? -1
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
      }
    }
    XCTAssertTrue((0..<3).contains(tileIndex), "\(tileIndex)")
    // After repair the tile is missing (not computed): --allow-partial fills it and lists it.
    try CLIHarness.succeed(["repair", run])
    try CLIHarness.succeed(["assemble", run, "--output", "\(work)/p.npy", "--allow-partial", "--progress", "none"])
    let mask = try JSONSerialization.jsonObject(with: Data(FileBytes.read(path: "\(work)/p.npy.missing.json"))) as? [String: Any]
    let missing = try XCTUnwrap(mask?["missingTiles"] as? [[String: Any]])
    XCTAssertEqual(missing.map { $0["index"] as? Int }, [tileIndex])
  }

  // MARK: F17. a failed generate leaves no manifest behind

  func testGenerateFailingItsDataCheckLeavesNothingAndTheCorrectedCommandRuns() throws {
    let out = "\(work)/gen"
    func generate(subsample: Int) throws -> CLIHarness.Result {
      try CLIHarness.run(["generate", "--models", "logistic", "--dataset", "mnist", "--root", "\(CLIHarness.repositoryRoot)/data/mnist-sample",
                          "--subsample", "\(subsample)", "--train-samples", "20", "--num-epochs", "1", "--bs", "10", "--tile-samples", "10",
                          "--output", out, "--progress", "none"])
    }
    let failed = try generate(subsample: 99999)
    XCTAssertEqual(failed.status, 2, failed.stdout + failed.stderr)
    XCTAssertTrue(failed.stderr.contains("dataset.subsample is 99999 but the file holds only 5000 samples"), failed.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(out) left behind")
    // In an existing folder: the folder stays, the manifest goes.
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
    XCTAssertEqual(try generate(subsample: 99999).status, 2)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
    let fixed = try generate(subsample: 20)
    XCTAssertEqual(fixed.status, 0, fixed.stderr)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(), ["logistic-mnist-r0.json", "runs"])
    try CLIHarness.succeed(["verify", "\(out)/runs/logistic-mnist-r0"])
  }

  // MARK: F7. generate's --models and --dataset are option values (usage, 64)

  func testGenerateRefusesAnUnknownModelOrDatasetAsAUsageErrorOfTheOption() throws {
    let out = "\(work)/gen"
    let model = try CLIHarness.run(["generate", "--models", "lenet", "nosuch", "--dataset", "mnist", "--output", out])
    XCTAssertEqual(model.status, 64, model.stdout + model.stderr)
    XCTAssertEqual(lines(model.stderr).first, "Error: --models: unknown model nosuch (expected one of logistic, twolayer, lenet, resnet9, resnet18, resnet34, resnet68, resnet50, resnet101, resnet152, vgg11, vgg13, mobilenet, mobilenetv2, wrn-28-2, wrn-28-5, wrn-28-10, densenet121)", model.stderr)
    let dataset = try CLIHarness.run(["generate", "--models", "lenet", "--dataset", "npy", "--output", out])
    XCTAssertEqual(dataset.status, 64, dataset.stdout + dataset.stderr)
    XCTAssertEqual(lines(dataset.stderr).first, "Error: --dataset: expected cifar10, mnist, kmnist, fmnist or svhn, got npy")
    XCTAssertFalse(FileManager.default.fileExists(atPath: out))
  }

  // MARK: F4. status exits 1 on a damaged training state, also once the eNTK has begun

  func testStatusOfAFinishedTrainingRunWithADamagedStateOrAMissingCheckpointExitsOne() throws {
    let trained = try CLIHarness.writeManifest([
      "name": "trained",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 20],
      "model": ["name": "lenet", "seed": 0, "train": ["epochs": 1, "lr": 0.01, "batchSize": 10, "seed": 0, "samples": 20]],
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 20],
    ], in: work, name: "trained")
    let run = "\(work)/trained"
    try CLIHarness.succeed(["run", trained, "--run-dir", run, "--progress", "none"])
    try CLIHarness.succeed(["status", run])
    let latest = "\(run)/training/latest.json"
    let original = try String(contentsOfFile: latest, encoding: .utf8)
    XCTAssertTrue(original.contains("\"epoch\" : 1,"), original)
    try original.replacingOccurrences(of: "\"epoch\" : 1,", with: "\"epoch\" : 2,").write(toFile: latest, atomically: true, encoding: .utf8)
    let repairHint = "; run `ntkbatch repair \(run)` (it sets the training state aside), then `ntkbatch run` trains again"
    for arguments in [["status", run], ["status", run, "--json"]] {
      let damaged = try CLIHarness.run(arguments)
      XCTAssertEqual(damaged.status, 1, "\(arguments): \(damaged.stdout) \(damaged.stderr)")
      XCTAssertEqual(lines(damaged.stderr), ["ntkbatch: error: damaged training state: \(latest): epoch: expected 1…1, found 2\(repairHint)"])
      XCTAssertTrue(damaged.stdout.contains(arguments.count == 2 ? "training: DAMAGED: \(latest): epoch" : "\"problem\""), damaged.stdout)
    }
    try original.write(toFile: latest, atomically: true, encoding: .utf8)
    try CLIHarness.succeed(["status", run])
    let checkpoints = "\(run)/training/checkpoints"
    let checkpoint = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: checkpoints).first)
    try FileManager.default.removeItem(atPath: "\(checkpoints)/\(checkpoint)")
    let missing = try CLIHarness.run(["status", run])
    XCTAssertEqual(missing.status, 1, missing.stdout + missing.stderr)
    XCTAssertEqual(lines(missing.stderr), ["ntkbatch: error: damaged training state: \(checkpoints)/\(checkpoint): missing training checkpoint of epoch 1 named by \(latest)\(repairHint)"])
    XCTAssertTrue(missing.stdout.contains("training: DAMAGED: \(checkpoints)/\(checkpoint): missing"), missing.stdout)
  }

  // MARK: F12. training checkpoints of changed weights: only the weights named, with hashes

  func testTrainingRefusalAfterTheWeightsFileChangedNamesOnlyTheWeightsHashes() throws {
    try CLIHarness.succeed(["run", try trainManifest("first", weights: nil), "--run-dir", "\(work)/first", "--progress", "none"])
    let initial = "\(work)/initial.safetensors"
    try CLIHarness.succeed(["export-weights", "\(work)/first", "--output", initial])
    let run = "\(work)/ft"
    try CLIHarness.succeed(["run", try trainManifest("ft", weights: initial), "--run-dir", run, "--progress", "none"])
    // The run moved its weights file (a relocation, resumed), and the file's contents changed.
    try FileManager.default.createDirectory(atPath: "\(work)/moved", withIntermediateDirectories: false)
    let moved = "\(work)/moved/initial.safetensors"
    try FileManager.default.moveItem(atPath: initial, toPath: moved)
    try CLIHarness.succeed(["run", try trainManifest("ft2", weights: moved, runName: "ft"), "--run-dir", run, "--progress", "none"])
    // Other weights (the trained ones) copied over the run's initial weights file.
    try CLIHarness.succeed(["export-weights", run, "--output", "\(work)/tuned.safetensors"])
    XCTAssertNotEqual(try FileBytes.read(path: "\(work)/tuned.safetensors"), try FileBytes.read(path: moved))
    try FileManager.default.removeItem(atPath: moved)
    try FileManager.default.copyItem(atPath: "\(work)/tuned.safetensors", toPath: moved)
    for name in ["ft2"] {
      let refused = try CLIHarness.run(["run", "\(work)/\(name).json", "--run-dir", run, "--progress", "none"])
      XCTAssertEqual(refused.status, 2, refused.stdout + refused.stderr)
      let line = try XCTUnwrap(lines(refused.stderr).first)
      XCTAssertEqual(lines(refused.stderr).count, 1, refused.stderr)
      XCTAssertTrue(line.hasPrefix("ntkbatch: error: \(run)/training/latest.json: training checkpoints were made from other inputs by the same manifest (different initial weights hash (run has "), line)
      XCTAssertTrue(line.hasSuffix("…: the weights file's contents changed)); give the run's original files, or use another --run-dir"), line)
      XCTAssertFalse(line.replacingOccurrences(of: "by the same manifest", with: "").contains("manifest"), line)
    }
  }

  // MARK: F13. run says when it rewrites labels.npy

  func testRunSaysWhenItRewritesLabelsThatDifferFromTheDatasets() throws {
    let run = "\(work)/labelled"
    let labelled = try trainManifest("labelled", weights: nil)
    var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: labelled))) as? [String: Any])
    var model = try XCTUnwrap(object["model"] as? [String: Any])
    model["train"] = nil
    object["model"] = model
    let manifest = try CLIHarness.writeManifest(object, in: work, name: "labelled")
    let first = try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    XCTAssertFalse(first.stderr.contains("labels"), first.stderr)
    let labels = "\(run)/labels.npy"
    let original = try FileBytes.read(path: labels)
    var array = try NpyArray.read(path: labels)
    let old = array.int64s()
    let changed = old.map { ($0 + 1) % 10 }
    array = NpyArray(header: NpyHeader(dtype: .int64, shape: [changed.count]), data: changed.map { $0.littleEndian }.withUnsafeBytes { Array($0) })
    try Data(array.encoded()).write(to: URL(fileURLWithPath: labels))
    let again = try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(lines(again.stderr), ["\(labels): the dataset's labels differ from the file's (20 of 20, first at [0]: file has \(changed[0]), dataset has \(old[0])): rewritten from the dataset (labels are not part of the run's identity: tiles and logits do not depend on them, results computed from the labels do)"])
    XCTAssertEqual(try FileBytes.read(path: labels), original)
    let quiet = try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    XCTAssertFalse(quiet.stderr.contains("labels"), quiet.stderr)
  }

  // MARK: F14. verify counts only temporaries of writers gone

  func testVerifyCountsOnlyTemporariesOfWritersNoLongerRunning() throws {
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    let folder = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: "\(run)/objects").sorted().first)
    // This test process is alive: its temporary is a writer's object in progress.
    let live = "\(run)/objects/\(folder)/.abc.tmp-\(getpid())-0123abcd"
    try Data("in progress".utf8).write(to: URL(fileURLWithPath: live))
    let clean = try CLIHarness.succeed(["verify", run])
    XCTAssertFalse(clean.stdout.contains("temporary"), clean.stdout)
    // A pid that does not exist: a crash's leftover.
    var dead: Int32 = 4_000_000
    while kill(dead, 0) == 0 || errno != ESRCH { dead += 1 }
    try Data("left".utf8).write(to: URL(fileURLWithPath: "\(run)/objects/\(folder)/.abc.tmp-\(dead)-0123abcd"))
    let leftover = try CLIHarness.succeed(["verify", run])
    XCTAssertTrue(leftover.stdout.contains("; 1 temporary file left by a crash"), leftover.stdout)
    // Named, as repair names it (a tester's finding: only counted), and not the live writer's.
    XCTAssertTrue(leftover.stdout.contains("TEMPORARY \(run)/objects/\(folder)/.abc.tmp-\(dead)-0123abcd: left by a writer that is no longer running; `ntkbatch repair` removes it"), leftover.stdout)
    XCTAssertFalse(leftover.stdout.contains(live), leftover.stdout)
    // The writer's pid reused by a process that is not ntkbatch (tester-s9b L4): left by a crash too.
    let other = Process()
    other.executableURL = URL(fileURLWithPath: "/bin/sleep")
    other.arguments = ["60"]
    try other.run()
    defer { other.terminate(); other.waitUntilExit() }
    try Data("left".utf8).write(to: URL(fileURLWithPath: "\(run)/objects/\(folder)/.abc.tmp-\(other.processIdentifier)-0123abcd"))
    let reused = try CLIHarness.succeed(["verify", run])
    XCTAssertTrue(reused.stdout.contains("; 2 temporary files left by a crash"), reused.stdout)
  }

  // MARK: F2, F3, F11: messages

  func testNpyInputsOfAnotherDtypeSayFloat32OrFloat64() throws {
    // A version 1.0 .npy of int32 [4, 3, 32, 32] (a dtype the reader does not read at all).
    var header = "{'descr': '<i4', 'fortran_order': False, 'shape': (4, 3, 32, 32), }"
    while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    let bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
      + Array(header.utf8) + [UInt8](repeating: 0, count: 4 * 3 * 32 * 32 * 4)
    let path = "\(work)/ints.npy"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let ints = try CLIHarness.writeManifest(["name": "ints", "dataset": ["name": "npy", "path": path], "model": ["name": "logistic"]], in: work, name: "ints")
    let result = try CLIHarness.run(["check", ints])
    XCTAssertEqual(result.status, 2, result.stdout + result.stderr)
    XCTAssertEqual(lines(result.stderr), ["ntkbatch: error: \(path): dataset.path holds dtype '<i4', expected float32 or float64 [N, 3, 32, 32] (little-endian '<f4' or '<f8')"])
  }

  func testDatasetInfoOfAMissingSplitSpeaksOfTheFolderNotOfManifestFields() throws {
    let root = "\(CLIHarness.repositoryRoot)/data/mnist-sample"
    let result = try CLIHarness.run(["dataset", "info", root, "--name", "mnist", "--split", "test"])
    XCTAssertEqual(result.status, 2, result.stdout + result.stderr)
    let line = try XCTUnwrap(lines(result.stderr).first)
    XCTAssertEqual(lines(result.stderr).count, 1, result.stderr)
    XCTAssertTrue(line.hasPrefix("ntkbatch: error: \(root): has no t10k-images-idx3-ubyte"), line)
    XCTAssertTrue(line.contains(" in \(root) (as published at "), line)
    XCTAssertTrue(line.hasSuffix("; `ntkbatch run` of a manifest with \"download\": true fetches them (dataset info never downloads)"), line)
    XCTAssertFalse(line.contains("dataset."), line)
  }

  func testAMemoryBudgetBelowOneMebibyteIsPrintedInBytes() throws {
    let small = try CLIHarness.writeManifest([
      "name": "small", "dataset": ["name": "npy", "path": "\(work)/inputs.npy"], "model": ["name": "logistic"],
      "ntk": ["precision": "float32", "tileSamples": "auto", "memoryBudget": 250000],
    ], in: work, name: "small")
    let result = try CLIHarness.run(["check", small])
    XCTAssertEqual(result.status, 2, result.stdout + result.stderr)
    XCTAssertEqual(lines(result.stderr).count, 1, result.stderr)
    XCTAssertTrue(result.stderr.hasPrefix("ntkbatch: error: \(small): the smallest tile (one sample a side) needs about "), result.stderr)
    XCTAssertTrue(result.stderr.hasSuffix(", over the budget of 250000 bytes (ntk.memoryBudget); raise ntk.memoryBudget\n"), result.stderr)
  }

  // MARK: F18. --version

  func testVersionPrintsTheOneVersionConstant() throws {
    let result = try CLIHarness.succeed(["--version"])
    let source = try String(contentsOfFile: "\(CLIHarness.repositoryRoot)/Sources/Checkpoint/NTKBatchVersion.swift", encoding: .utf8)
    let constant = try XCTUnwrap(source.components(separatedBy: "static let current = \"").last?.components(separatedBy: "\"").first)
    XCTAssertEqual(result.stdout, constant + "\n")
    XCTAssertEqual(result.stderr, "")
  }

  // MARK: F10. models --keys

  func testModelsKeysListsEveryStateKeyWithItsShape() throws {
    let twolayer = try CLIHarness.succeed(["models", "--keys", "twolayer"])
    XCTAssertEqual(lines(twolayer.stdout), ["fc1.weight  [120, 3072]", "fc1.bias    [120]", "fc2.weight  [10, 120]", "fc2.bias    [10]"])
    let json = try CLIHarness.succeed(["models", "--keys", "lenet", "--json"])
    let entries = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
    XCTAssertEqual(entries.map { $0["key"] as? String }.first, "conv1.weight")
    XCTAssertEqual(entries.first?["shape"] as? [Int], [6, 3, 5, 5])
    XCTAssertEqual(entries.count, 10)
    let unknown = try CLIHarness.run(["models", "--keys", "nosuch"])
    XCTAssertEqual(unknown.status, 64, unknown.stderr)
    XCTAssertTrue(unknown.stderr.contains("--keys: unknown model nosuch (expected one of logistic, "), unknown.stderr)
  }

  // MARK: F15. trailing commas are not JSON

  func testAManifestWithATrailingCommaIsNotValidJSON() throws {
    let path = "\(work)/trail.json"
    try FileManager.default.copyItem(atPath: "\(work)/inputs.npy", toPath: "\(work)/x,}.npy")
    let text = "{\"name\":\"a\",\"dataset\":{\"name\":\"npy\",\"path\":\"x,}.npy\",},\"model\":{\"name\":\"logistic\"},\"ntk\":{\"tileSamples\":4}}"
    try CLIHarness.writeText(text, to: path)
    let refused = try CLIHarness.run(["check", path])
    XCTAssertEqual(refused.status, 2, refused.stdout + refused.stderr)
    // The byte of the comma after the path (not the one inside it, "x,}.npy").
    let comma = try XCTUnwrap(text.range(of: ".npy\",")).upperBound
    let offset = text.utf8.distance(from: text.startIndex, to: comma) - 1
    XCTAssertEqual(lines(refused.stderr), ["ntkbatch: error: \(path): not valid JSON: a trailing comma at byte \(offset) (line 1, column \(offset + 1)), before a closing } or ] (JSON allows none; jq and Python's json refuse it), expected a JSON object like {\"name\": …, \"dataset\": {…}, \"model\": {…}, \"ntk\": {…}}"])
    // The same without it (",}" inside a string is no trailing comma): valid.
    try CLIHarness.writeText(text.replacingOccurrences(of: ".npy\",}", with: ".npy\"}"), to: path)
    try CLIHarness.succeed(["check", path])
  }
}
