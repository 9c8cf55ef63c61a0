import Checkpoint
import Foundation
import Storage
import XCTest
import Datasets

/// `ntkbatch generate`: one manifest per model and repeat (seed = repeat), run in turn, resumably.
final class TrainingGenerateTests: XCTestCase {
  func testGenerateWritesManifestsRunsThemAndContinuesWithoutRetraining() throws {
    let work = try CLIHarness.temporaryDirectory("generate")
    defer { try? FileManager.default.removeItem(atPath: work) }
    let arguments = [
      "generate", "--models", "lenet", "logistic", "--dataset", "mnist", "--root", "\(CLIHarness.repositoryRoot)/data/mnist-sample",
      "--subsample", "20", "--train-samples", "20", "--num-epochs", "2", "--bs", "8", "--lr", "0.01", "--repeats", "2", "--tile-samples", "20",
      "--output", "\(work)/out", "--progress", "tiles",
    ]
    let first = try CLIHarness.succeed(arguments)
    // 4 runs × 2 epochs, each printed once; 1 tile each.
    XCTAssertEqual(first.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.count, 8, first.stdout)
    XCTAssertEqual(first.stdout.split(separator: "\n").filter { $0.hasPrefix("tile ") }.count, 4, first.stdout)
    for model in ["lenet", "logistic"] {
      for r in 0..<2 {
        let manifest = try Manifest.load(path: "\(work)/out/\(model)-mnist-r\(r).json", knownModels: [model], knownDatasets: DatasetKind.manifestNames)
        XCTAssertEqual(manifest.model.seed, r)
        XCTAssertEqual(manifest.model.train, Manifest.Training(lr: 0.01, batchSize: 8, epochs: 2, targetAccuracy: 0.995, seed: r, samples: 20))
        XCTAssertEqual(manifest.dataset.subsample, 20)
        let record = try XCTUnwrap(TrainingCheckpointStore(run: RunDirectory(path: "\(work)/out/runs/\(model)-mnist-r\(r)")).latest()?.record)
        XCTAssertEqual(record.epoch, 2)
        XCTAssertTrue(record.finished)
      }
    }
    let a = try FileBytes.read(path: "\(work)/out/runs/lenet-mnist-r0/logits.npy")
    XCTAssertFalse(a == (try FileBytes.read(path: "\(work)/out/runs/lenet-mnist-r1/logits.npy")), "repeats must differ")
    let second = try CLIHarness.succeed(arguments)
    XCTAssertEqual(second.stdout, "", "a second generate must neither retrain nor recompute")
  }

  /// Every option value of `generate`, `slurm` and `dataset info` is checked before anything is
  /// written, with its own message (exit 64): negative values reach the check (they used to be
  /// taken for options: "Missing value"), and NaN/∞ or out-of-range values no longer end in a JSON
  /// writer's error (exit 1) or a refusal of a manifest never written (exit 2).
  func testOptionValuesAreUsageErrorsBeforeAnythingIsWritten() throws {
    let work = try CLIHarness.temporaryDirectory("generate-values")
    defer { try? FileManager.default.removeItem(atPath: work) }
    let base = ["generate", "--models", "lenet", "--dataset", "mnist", "--output", "\(work)/out"]
    let cases: [([String], String)] = [
      (base + ["--lr", "nan"], "--lr: expected a positive finite number, got nan"),
      (base + ["--lr", "inf"], "--lr: expected a positive finite number, got inf"),
      (base + ["--lr", "-1"], "--lr: expected a positive finite number, got -1.0"),
      (base + ["--bs", "0"], "--bs: expected an integer from 1 to"),
      (base + ["--num-epochs", "-2"], "--num-epochs: expected an integer from 1 to"),
      (base + ["--target-accuracy", "2"], "--target-accuracy: expected a number from 0 to 1, got 2.0"),
      (base + ["--target-accuracy", "nan"], "--target-accuracy: expected a number from 0 to 1, got nan"),
      (base + ["--tile-samples", "-3"], "--tile-samples: expected an integer from 1 to 100000, got -3"),
      (base + ["--subsample", "-1"], "--subsample: expected a positive number of samples, got -1"),
      (base + ["--precision", "float16"], "--precision: expected float32 or float64, got float16"),
      (["generate", "--models", "", "--dataset", "mnist", "--output", "\(work)/out"], "--models needs at least one model name"),
      (["generate", "--models", "lenet", "--dataset", "mnist", "--output", ""], "--output: expected a folder, found an empty path"),
      (["slurm", "\(work)/none.json", "--array", "-1"], "--array must be from 1 to"),
      (["slurm", "\(work)/none.json", "--array", "2", "--max-requeues", "-1"], "--max-requeues must be at least 0, got -1"),
      (["slurm", "\(work)/none.json", "--array", "2", "--time", "-1"], "--time: expected a Slurm time"),
      (["dataset", "info", "\(work)", "--name", "mnist", "--subsample", "-1"], "--subsample must be positive, got -1"),
    ]
    for (arguments, says) in cases {
      let result = try CLIHarness.run(arguments)
      XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
      XCTAssertTrue(result.stderr.contains(says), "\(arguments): \(result.stderr)")
      XCTAssertFalse(result.stderr.contains("Missing value"), result.stderr)
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/out"), "nothing written")
  }

  /// A second `generate` with the dataset in another folder (`--root`) rewrites the manifests
  /// (only `dataset.root` differs) and resumes their runs as moved runs: nothing is trained or
  /// computed again, and the eNTK is the one computed before the move.
  func testGenerateWithANewRootRewritesTheManifestsAndResumes() throws {
    let work = try CLIHarness.temporaryDirectory("generate-moved")
    defer { try? FileManager.default.removeItem(atPath: work) }
    try FileManager.default.copyItem(atPath: "\(CLIHarness.repositoryRoot)/data/mnist-sample", toPath: "\(work)/disk1")
    func arguments(_ root: String) -> [String] {
      ["generate", "--models", "lenet", "--dataset", "mnist", "--root", root, "--subsample", "20", "--train-samples", "20",
       "--num-epochs", "1", "--bs", "8", "--tile-samples", "10", "--output", "\(work)/out", "--progress", "tiles"]
    }
    try CLIHarness.succeed(arguments("\(work)/disk1"))
    let before = try FaultHarness.assembled("\(work)/out/runs/lenet-mnist-r0", output: "\(work)/before.npy")
    try FileManager.default.moveItem(atPath: "\(work)/disk1", toPath: "\(work)/disk2")
    let moved = try CLIHarness.succeed(arguments("\(work)/disk2/"))
    // The trailing slash is not kept: --root is written normalised.
    XCTAssertTrue(moved.stderr.contains("dataset.root (file has \"\(work)/disk1\", now \"\(work)/disk2\"): rewritten (the same run, moved)"), moved.stderr)
    XCTAssertEqual(moved.stdout, "", "neither retrained nor recomputed: \(moved.stdout)")
    XCTAssertEqual(try FaultHarness.assembled("\(work)/out/runs/lenet-mnist-r0", output: "\(work)/after.npy"), before)
  }

  /// `generate` and `models` take the manifest's width limits (`Manifest.maximumWidth`, one
  /// owner): a width outside 1…4096 is a usage error (exit 64) naming `--width` before anything is
  /// written; `models` lists P at the manifest's default width.
  func testWidthLimitsAreTheManifestsOwn() throws {
    let work = try CLIHarness.temporaryDirectory("generate-width")
    defer { try? FileManager.default.removeItem(atPath: work) }
    for arguments in [["generate", "--models", "resnet18", "--dataset", "mnist", "--width", "4097", "--output", work], ["models", "--width", "0"]] {
      let result = try CLIHarness.run(arguments)
      XCTAssertEqual(result.status, 64, result.stderr)
      XCTAssertTrue(result.stderr.contains("--width must be between 1 and 4096"), result.stderr)
    }
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work), [])
    let models = try CLIHarness.succeed(["models", "--json"])
    let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(models.stdout.utf8)) as? [[String: Any]])
    XCTAssertEqual(Set(rows.compactMap { $0["width"] as? Int }), [64])
  }
}
