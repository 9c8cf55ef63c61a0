import Checkpoint
import XCTest
import Datasets

/// `model.train` in manifests: defaults, strict validation, and an unchanged hash without it.
final class TrainingManifestTests: XCTestCase {
  func parse(_ json: String) throws -> Manifest {
    try Manifest.parse(Array(json.utf8), file: "m.json", knownModels: ["lenet"], knownDatasets: DatasetKind.manifestNames)
  }

  func base(_ model: String) -> String {
    #"{"name": "x", "dataset": {"name": "mnist", "root": "d"}, "model": "# + model + "}"
  }

  func testDefaultsAndValues() throws {
    XCTAssertEqual(try parse(base(#"{"name": "lenet", "train": {}}"#)).model.train, Manifest.Training(lr: 0.1, batchSize: 64, epochs: 200, targetAccuracy: 0.995, seed: 0))
    let m = try parse(base(#"{"name": "lenet", "train": {"lr": 1, "batchSize": 8, "epochs": 3, "targetAccuracy": 0.5, "seed": 4}}"#))
    XCTAssertEqual(m.model.train, Manifest.Training(lr: 1, batchSize: 8, epochs: 3, targetAccuracy: 0.5, seed: 4))
    XCTAssertNil(try parse(base(#"{"name": "lenet"}"#)).model.train)
  }

  func testManifestWithoutTrainKeepsItsCanonicalForm() throws {
    let plain = try parse(base(#"{"name": "lenet"}"#))
    XCTAssertEqual(
      String(decoding: plain.canonicalJSON(), as: UTF8.self),
      #"{"dataset":{"name":"mnist","root":"d"},"model":{"name":"lenet","seed":0,"width":64},"name":"x","ntk":{"normalization":"sqrt-params","precision":"float32","tileSamples":100}}"#)
    let trained = try parse(base(#"{"name": "lenet", "train": {"epochs": 3}}"#))
    XCTAssertTrue(String(decoding: trained.canonicalJSON(), as: UTF8.self).contains(#""train":{"batchSize":64,"epochs":3,"lr":0.1,"seed":0,"targetAccuracy":0.995}"#))
    XCTAssertNotEqual(plain.canonicalHash, trained.canonicalHash)
  }

  func testInvalidFieldsAreNamed() {
    let cases: [(String, String)] = [
      (#"{"lr": 0}"#, "m.json: model.train.lr: expected a positive number, found 0"),
      (#"{"lr": "fast"}"#, "m.json: model.train.lr: expected a positive number"),
      (#"{"batchSize": 0}"#, "m.json: model.train.batchSize: expected an integer from 1"),
      (#"{"epochs": 2.5}"#, "m.json: model.train.epochs: expected an integer from 1"),
      (#"{"targetAccuracy": 1.5}"#, "m.json: model.train.targetAccuracy: expected a number from 0 to 1, found 1.5"),
      (#"{"seed": -1}"#, "m.json: model.train.seed: expected a non-negative integer, found -1"),
      (#"{"momentum": 0.5}"#, "m.json: model.train.momentum: unknown field"),
      (#"3"#, "m.json: model.train: expected an object"),
    ]
    for (train, message) in cases {
      XCTAssertThrowsError(try parse(base(#"{"name": "lenet", "train": "# + train + "}"))) { error in
        XCTAssertTrue((error as? CheckpointError)?.message.hasPrefix(message) ?? false, "\(error) for \(train)")
      }
    }
  }
}
