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
