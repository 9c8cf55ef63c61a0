import Engine
import Foundation
import Storage
import XCTest

/// A fresh tester's findings (README only): `assemble` replaced a user's Zarr group or array and
/// any 2-D float `.npy`; `export-weights` and `generate` replaced files; `models`/`check` allocated
/// the weights of huge widths; negative option values and empty paths gave the wrong message.
/// Each refusal is one line naming the file or option, exit 2 (usage: 64), nothing damaged.
final class FreshTesterFindingsTests: XCTestCase {
  var work = ""
  var manifest = ""

  override func setUpWithError() throws {
    work = try CLIHarness.temporaryDirectory("fresh-tester")
    // LeNet on 12 samples in tiles of 6: 3 tiles.
    manifest = try FaultHarness.npyManifest(in: work, samples: 12, tileSamples: 6)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  private func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

  private func completeRun(_ name: String = "run") throws -> String {
    let run = "\(work)/\(name)"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    return run
  }


  // MARK: 1. Zarr groups and user arrays

  func testAssembleReplacesOnlyAZarrArrayNtkbatchWroteUnlessOverwrite() throws {
    let run = try completeRun()
    // As zarr-python 3 writes them: a group holding an array, a v3 array and a v2 array of a user.
    let group = "\(work)/out/mygroup.zarr"
    try CLIHarness.writeText(#"{"zarr_format": 3, "node_type": "group", "attributes": {}}"#, to: group + "/zarr.json")
    try CLIHarness.writeText(#"{"zarr_format": 3, "node_type": "array", "shape": [2], "data_type": "float32", "attributes": {"note": "mine"}}"#, to: group + "/features/zarr.json")
    try CLIHarness.writeText("chunk", to: group + "/features/c/0")
    let userV3 = "\(work)/out/user3.zarr"
    try CLIHarness.writeText(#"{"zarr_format": 3, "node_type": "array", "shape": [2], "data_type": "float32", "attributes": {}}"#, to: userV3 + "/zarr.json")
    let userV2 = "\(work)/out/user2.zarr"
    try CLIHarness.writeText(#"{"zarr_format": 2, "shape": [2], "dtype": "<f4"}"#, to: userV2 + "/.zarray")
    try CLIHarness.writeText(#"{"ntkbatch": 1}"#, to: userV2 + "/.zattrs")  // not the attribute object ntkbatch writes
    for target in [group, userV3, userV2] {
      let before = try CLIHarness.fileTree(target)
      let result = try CLIHarness.run(["assemble", run, "--output", target, "--progress", "none"])
      XCTAssertEqual(result.status, 2, "\(target): \(result.stdout) \(result.stderr)")
      XCTAssertEqual(lines(result.stderr), ["ntkbatch: error: \(target): exists and is not an output of this run recorded in \(run)/outputs.json (or changed since); not replaced (--overwrite replaces it)"])
      XCTAssertEqual(try CLIHarness.fileTree(target), before, target)
    }
    // An array ntkbatch wrote (either format) is replaced as before.
    for version in ["3", "2"] {
      let ours = "\(work)/out/g\(version).zarr"
      try CLIHarness.succeed(["assemble", run, "--output", ours, "--zarr-format", version, "--progress", "none"])
      try CLIHarness.succeed(["assemble", run, "--output", ours, "--zarr-format", version, "--progress", "none"])
      XCTAssertTrue(FileManager.default.fileExists(atPath: ours + (version == "3" ? "/zarr.json" : "/.zattrs")))
    }
    // --overwrite replaces the group.
    try CLIHarness.succeed(["assemble", run, "--output", group, "--overwrite", "--progress", "none"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: group + "/features"))
  }

  // MARK: 2. .npy outputs provably ours

  func testAssembleReplacesOnlyAnUnchangedNpyThisRunRecorded() throws {
    let run = try completeRun()
    // A user's 2-D float64 matrix, exactly what the old guard took for an earlier output.
    let features = "\(work)/my_features.npy"
    let values = (0..<(40 * 7)).map { Double($0) / 3 }
    let userBytes = NpyArray(header: NpyHeader(dtype: .float64, shape: [40, 7]), data: values.withUnsafeBytes { Array($0) }).encoded()
    try Data(userBytes).write(to: URL(fileURLWithPath: features))
    let refused = try CLIHarness.run(["assemble", run, "--output", features, "--progress", "none"])
    XCTAssertEqual(refused.status, 2, refused.stdout + refused.stderr)
    XCTAssertEqual(lines(refused.stderr), ["ntkbatch: error: \(features): exists and is not an output of this run recorded in \(run)/outputs.json (or changed since); not replaced (--overwrite replaces it)"])
    XCTAssertEqual(try FileBytes.read(path: features), userBytes)

    // This run's own output: recorded, then replaced without --overwrite.
    let output = "\(work)/g.npy"
    try CLIHarness.succeed(["assemble", run, "--output", output, "--progress", "none"])
    let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(FileBytes.read(path: "\(run)/outputs.json"))) as? [String: Any])
    let entries = try XCTUnwrap(record["outputs"] as? [[String: Any]])
    XCTAssertEqual(entries.map { $0["path"] as? String }, [AssembleOutputGuardPath.resolved(output)])
    XCTAssertEqual(entries.first?["size"] as? Int, try FileBytes.read(path: output).count)
    let matrix = try FileBytes.read(path: output)
    try CLIHarness.succeed(["assemble", run, "--output", output, "--progress", "none"])
    XCTAssertEqual(try FileBytes.read(path: output), matrix)
    try CLIHarness.succeed(["verify", run])

    // Another run's output is not this run's.
    let other = try completeRun("other")
    let refusedOther = try CLIHarness.run(["assemble", other, "--output", output, "--progress", "none"])
    XCTAssertEqual(refusedOther.status, 2, refusedOther.stderr)
    XCTAssertTrue(refusedOther.stderr.contains("not an output of this run recorded in \(other)/outputs.json"), refusedOther.stderr)

    // Changed since (the user wrote their data there, same name): refused, kept.
    try Data(userBytes).write(to: URL(fileURLWithPath: output))
    let changed = try CLIHarness.run(["assemble", run, "--output", output, "--progress", "none"])
    XCTAssertEqual(changed.status, 2, changed.stderr)
    XCTAssertEqual(try FileBytes.read(path: output), userBytes)

    // --overwrite replaces it, and records it again.
    try CLIHarness.succeed(["assemble", run, "--output", features, "--overwrite", "--progress", "none"])
    XCTAssertEqual(try FileBytes.read(path: features), matrix)
    try CLIHarness.succeed(["assemble", run, "--output", features, "--progress", "none"])
  }

  // MARK: 3. export-weights over an existing file

  func testExportWeightsRefusesAnExistingOutputUnlessOverwrite() throws {
    let manifest = try CLIHarness.writeManifest([
      "name": "train",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 20],
      "model": ["name": "lenet", "seed": 0, "train": ["epochs": 1, "lr": 0.01, "batchSize": 10, "seed": 0, "samples": 20]],
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 20],
    ], in: work, name: "train")
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/trained", "--progress", "none"])
    let precious = "\(work)/precious.safetensors"
    try Data("weights of another run".utf8).write(to: URL(fileURLWithPath: precious))
    let refused = try CLIHarness.run(["export-weights", "\(work)/trained", "--output", precious])
    XCTAssertEqual(refused.status, 2, refused.stdout + refused.stderr)
    XCTAssertEqual(lines(refused.stderr), ["ntkbatch: error: \(precious): exists (it may hold the weights of another run); not replaced (--overwrite replaces it)"])
    XCTAssertEqual(try String(contentsOfFile: precious, encoding: .utf8), "weights of another run")
    let missingFolder = try CLIHarness.run(["export-weights", "\(work)/trained", "--output", "\(work)/nowhere/w.safetensors"])
    XCTAssertEqual(missingFolder.status, 2, missingFolder.stderr)
    XCTAssertEqual(lines(missingFolder.stderr), ["ntkbatch: error: \(work)/nowhere/w.safetensors: the folder \(work)/nowhere does not exist (expected an existing folder for the output; create it first)"])
    let wrote = try CLIHarness.succeed(["export-weights", "\(work)/trained", "--output", precious, "--overwrite"])
    XCTAssertFalse(try SafetensorsFile.read(path: precious).names.isEmpty)
    let exported = try FileBytes.read(path: precious)
    XCTAssertTrue(wrote.stdout.hasPrefix("wrote \(precious): the trained weights of \(work)/trained (epoch "), wrote.stdout)
    XCTAssertTrue(wrote.stdout.contains("\(exported.count) bytes"), wrote.stdout)
    // The same export again (tools/demo run twice) finds exactly these weights: no change, exit 0, said so.
    let again = try CLIHarness.succeed(["export-weights", "\(work)/trained", "--output", precious])
    XCTAssertTrue(again.stdout.contains("\(precious) already holds these weights"), again.stdout)
    XCTAssertEqual(try FileBytes.read(path: precious), exported)
    // Never into the run directory, also not with --overwrite: not over the run's own training
    // checkpoint (the run then could not resume), nor as a stray file beside its state.
    let checkpoints = "\(work)/trained/training/checkpoints"
    let checkpoint = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: checkpoints).first { $0.hasSuffix(".safetensors") })
    let before = try FileBytes.read(path: "\(checkpoints)/\(checkpoint)")
    for target in ["\(checkpoints)/\(checkpoint)", "\(work)/trained/w.safetensors", "\(work)/trained/../trained/x.safetensors"] {
      let inside = try CLIHarness.run(["export-weights", "\(work)/trained", "--output", target, "--overwrite"])
      XCTAssertEqual(inside.status, 2, inside.stdout + inside.stderr)
      XCTAssertEqual(lines(inside.stderr), ["ntkbatch: error: \(target): inside the run directory \(work)/trained; export-weights writes its output outside the run directory (also not with --overwrite)"])
    }
    XCTAssertEqual(try FileBytes.read(path: "\(checkpoints)/\(checkpoint)"), before)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/trained/w.safetensors"))
    try CLIHarness.succeed(["verify", "\(work)/trained"])
  }

  // MARK: 4. generate never rewrites a manifest before refusing

  func testGenerateRefusesADifferingManifestNamingTheFieldBeforeWritingAnything() throws {
    let out = "\(work)/gen"
    func generate(epochs: Int, models: [String], extra: [String] = []) throws -> CLIHarness.Result {
      try CLIHarness.run(["generate", "--models"] + models + [
        "--dataset", "mnist", "--root", "\(CLIHarness.repositoryRoot)/data/mnist-sample", "--subsample", "10",
        "--train-samples", "10", "--num-epochs", "\(epochs)", "--bs", "10", "--lr", "0.01", "--tile-samples", "10",
        "--output", out, "--progress", "none"] + extra)
    }
    let first = try generate(epochs: 1, models: ["lenet"])
    XCTAssertEqual(first.status, 0, first.stderr)
    let lenet = "\(out)/lenet-mnist-r0.json"
    let before = try FileBytes.read(path: lenet)
    let runBefore = try CLIHarness.fileTree("\(out)/runs")
    // logistic comes first and is new: it must not be written either.
    let refused = try generate(epochs: 2, models: ["logistic", "lenet"])
    XCTAssertEqual(refused.status, 2, refused.stderr)
    XCTAssertEqual(lines(refused.stderr), ["ntkbatch: error: \(lenet): exists and differs from the manifest these options give in model.train.epochs (file has 1, now 2); not replaced (--overwrite replaces it)"])
    XCTAssertEqual(try FileBytes.read(path: lenet), before)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(out)/logistic-mnist-r0.json"))
    // --overwrite: the run directory still holds the earlier manifest's run.
    let overwrite = try generate(epochs: 2, models: ["logistic", "lenet"], extra: ["--overwrite"])
    XCTAssertEqual(overwrite.status, 2, overwrite.stderr)
    XCTAssertEqual(lines(overwrite.stderr), ["ntkbatch: error: \(lenet): differs from the manifest these options give in model.train.epochs (file has 1, now 2), and its run directory \(out)/runs/lenet-mnist-r0 holds the earlier manifest's run; remove that run directory (or use another --output) to start again"])
    XCTAssertEqual(try FileBytes.read(path: lenet), before)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(out)/logistic-mnist-r0.json"))
    XCTAssertEqual(try CLIHarness.fileTree("\(out)/runs"), runBefore)
    // The same options again: nothing to do.
    let again = try generate(epochs: 1, models: ["lenet"])
    XCTAssertEqual(again.status, 0, again.stderr)
    XCTAssertEqual(try FileBytes.read(path: lenet), before)
  }

  // MARK: 5. Huge widths: counted, not allocated

  /// `ntkbatch arguments…` under `ulimit -v` (KiB of address space): what allocates the weights
  /// of a huge model dies (the old `models --width 1024` used 21 GB), what counts them does not.
  private func runLimited(_ arguments: [String], kibibytes: Int) throws -> CLIHarness.Result {
    let quoted = ([CLIHarness.binary.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", "ulimit -v \(kibibytes) && exec \(quoted)"]
    var environment = ProcessInfo.processInfo.environment
    environment["OPENBLAS_NUM_THREADS"] = "1"
    process.environment = environment
    return try CLIHarness.capture(process)
  }

  func testModelsCountsHugeWidthsWithoutAllocatingTheirWeights() throws {
    // The count from the layer shapes is the built model's, for every model.
    for name in ModelZoo.names {
      let built = try ModelZoo.make(name: name, width: 6, scalar: Float.self)
      XCTAssertEqual(try ModelZoo.size(name: name, width: 6), ModelSize(parameterCount: built.parameterCount, stateCount: built.stateValues.count), name)
    }
    let result = try runLimited(["models", "--width", "1024", "--json"], kibibytes: 6 << 20)
    XCTAssertEqual(result.status, 0, result.stderr)
    let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]], result.stdout)
    let counts = Dictionary(uniqueKeysWithValues: rows.map { ($0["name"] as! String, $0["parameters"] as! Int) })
    XCTAssertEqual(counts["lenet"], 62_006)
    XCTAssertEqual(counts["resnet152"], try ModelZoo.size(name: "resnet152", width: 1024).parameterCount)
    XCTAssertGreaterThan(counts["resnet152"] ?? 0, 10_000_000_000)
  }

  func testCheckRefusesAModelWhoseWeightsExceedTheBudgetBeforeAllocatingThem() throws {
    let path = try CLIHarness.writeManifest([
      "name": "huge",
      "dataset": ["name": "npy", "path": "\(work)/inputs.npy"],
      "model": ["name": "resnet152", "width": 4096, "seed": 0],
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 6],
    ], in: work, name: "huge")
    let size = try ModelZoo.size(name: "resnet152", width: 4096)
    for command in [["check", path], ["run", path, "--run-dir", "\(work)/huge", "--progress", "none"]] {
      let result = try runLimited(command, kibibytes: 6 << 20)
      XCTAssertEqual(result.status, 2, "\(command): \(result.stderr)")
      let line = try XCTUnwrap(lines(result.stderr).first)
      XCTAssertEqual(lines(result.stderr).count, 1, result.stderr)
      XCTAssertTrue(line.hasPrefix("ntkbatch: error: \(path): model.width: resnet152 at width 4096 has P = \(size.parameterCount) parameters, whose weights and one gradient need \(((size.stateCount + size.parameterCount) * 4 + (1 << 20) - 1) >> 20) MiB, over the memory budget of "), line)
      XCTAssertTrue(line.hasSuffix(" MiB (ntk.memoryBudget); use a smaller model.width"), line)
    }
  }

  // MARK: 6–8. Command-line usage

  /// Negative values reach `validate` (not "Missing value for '--samples <samples>'"), and an
  /// empty range says what was found: usage errors, exit 64.
  func testNegativeAndEmptyOptionValuesGetTheirOwnMessage() throws {
    let run = "\(work)/run"
    let cases: [([String], String)] = [
      (["assemble", run, "--samples", "-1:5", "--output", "\(work)/g.npy"], "--samples: expected A:B with 0 ≤ A < B, found -1:5"),
      (["assemble", run, "--samples", "0:5,", "--output", "\(work)/g.npy"], "--samples: expected A:B or A:B,C:D, found \"0:5,\" (an empty range after the comma)"),
      (["assemble", run, "--samples", ",0:5", "--output", "\(work)/g.npy"], "--samples: expected A:B or A:B,C:D, found \",0:5\" (an empty range before the comma)"),
      (["assemble", run, "--chunk", "-10", "--output", "\(work)/g.zarr"], "--chunk: expected a positive multiple of 10 (the classes per sample), found -10"),
      (["assemble", run, "--classes", "-1", "--output", "\(work)/g.npy"], "--classes: expected distinct classes within 0…9, found -1"),
      (["check", manifest, "--shards", "-3"], "--shards must be from 1 to"),
      (["models", "--width", "-2"], "--width must be between 1 and 4096, got -2"),
      (["run", manifest, "--run-dir", ""], "--run-dir: expected a directory path, found an empty string"),
      (["assemble", run, "--output", ""], "--output: expected a .npy file or a Zarr directory path, found an empty string"),
    ]
    for (arguments, message) in cases {
      let result = try CLIHarness.run(arguments)
      XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
      XCTAssertTrue(result.stderr.contains(message), "\(arguments): \(result.stderr)")
      XCTAssertFalse(result.stderr.contains("Missing value"), "\(arguments): \(result.stderr)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: run))
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/runs"))
  }

  /// An output in a missing folder is named by its folder, exit 2, before any work (not the
  /// temporary `.ref.npy.tmp-…` the write would have created).
  func testAssembleIntoAMissingFolderNamesTheFolder() throws {
    let run = try completeRun()
    for output in ["\(work)/out/ref.npy", "\(work)/out/ref.zarr"] {
      let result = try CLIHarness.run(["assemble", run, "--output", output, "--progress", "none"])
      XCTAssertEqual(result.status, 2, result.stderr)
      XCTAssertEqual(lines(result.stderr), ["ntkbatch: error: \(output): the folder \(work)/out does not exist (expected an existing folder for the output; create it first)"])
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/out"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(run)/outputs.json"))
  }

  /// `repair` keeps stray files (README, RepairCommand): the help says so.
  func testHelpSaysRepairKeepsStrayFiles() throws {
    for arguments in [["--help"], ["repair", "--help"]] {
      let help = try CLIHarness.succeed(arguments).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
      XCTAssertTrue(help.contains("remove orphans and temporary files (stray files are named and kept)"), help)
      XCTAssertFalse(help.contains("temporary and stray files"), help)
    }
    let exportHelp = try CLIHarness.succeed(["export-weights", "--help"]).stdout
    XCTAssertTrue(exportHelp.contains("--allow-unfinished") && exportHelp.contains("--overwrite"), exportHelp)
    let readme = try String(contentsOfFile: "\(CLIHarness.repositoryRoot)/README.md", encoding: .utf8)
    XCTAssertTrue(readme.contains("`--allow-unfinished`"), "README documents export-weights --allow-unfinished")
  }
}

/// `OutputPlace.resolved` as the test sees it: absolute, symbolic links resolved
/// (`/tmp` may be a link).
enum AssembleOutputGuardPath {
  static func resolved(_ path: String) -> String { URL(fileURLWithPath: path).resolvingSymlinksInPath().path }
}
