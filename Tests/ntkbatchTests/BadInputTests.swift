import Foundation
import Storage
import XCTest

/// Bad manifests, datasets and weights end in one line on stderr naming the file and field, exit
/// code 2, and leave existing results alone.
final class BadInputTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("bad-input") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  func valid() -> [String: Any] {
    [
      "name": "bad",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 10],
      "model": ["name": "lenet", "seed": 0],
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 5],
    ]
  }

  func expectBadInput(_ manifest: [String: Any], mentions words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
    let path = try CLIHarness.writeManifest(manifest, in: work)
    let result = try CLIHarness.run(["run", path, "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertEqual(result.status, 2, result.stderr, file: file, line: line)
    let lines = result.stderr.split(separator: "\n")
    XCTAssertEqual(lines.count, 1, "expected one line, got: \(result.stderr)", file: file, line: line)
    for word in words { XCTAssertTrue(result.stderr.contains(word), "\(word) not in: \(result.stderr)", file: file, line: line) }
  }

  func testUnknownFieldIsNamed() throws {
    var m = valid()
    var ntk = m["ntk"] as! [String: Any]
    ntk["tileSample"] = 5
    m["ntk"] = ntk
    try expectBadInput(m, mentions: ["ntk.tileSample"])
  }

  func testWrongValueIsNamed() throws {
    var m = valid()
    m["ntk"] = ["precision": "float16", "tileSamples": 5]
    try expectBadInput(m, mentions: ["ntk.precision"])
  }

  func testUnknownModelIsNamed() throws {
    var m = valid()
    m["model"] = ["name": "resnet999"]
    try expectBadInput(m, mentions: ["model.name", "resnet999"])
  }

  func testMissingDatasetFileIsNamed() throws {
    var m = valid()
    m["dataset"] = ["name": "mnist", "root": "\(work)/nowhere"]
    try expectBadInput(m, mentions: ["dataset.root", "nowhere"])
  }

  func testSubsampleLargerThanDatasetIsNamed() throws {
    var m = valid()
    m["dataset"] = ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 5001]
    try expectBadInput(m, mentions: ["subsample", "5000"])
  }

  func testWeightsWithAMisshapedKeyNameKeyAndShapes() throws {
    // LeNet's fixture weights with fc1.weight widened from [120, 400] to [120, 401].
    let fixture = try SafetensorsFile.read(path: "\(CLIHarness.fixtures)/lenet-w0/weights.safetensors")
    let entries = fixture.names.map { name -> (name: String, shape: [Int], values: [Double]) in
      let tensor = fixture.tensors[name]!
      return name == "fc1.weight" ? (name, [120, 401], [Double](repeating: 0.5, count: 120 * 401)) : (name, tensor.shape, tensor.doubles())
    }
    let path = "\(work)/wide.safetensors"
    try Data(SafetensorsFile.encode(entries)).write(to: URL(fileURLWithPath: path))
    var m = valid()
    m["model"] = ["name": "lenet", "weights": path]
    try expectBadInput(m, mentions: ["wide.safetensors", "fc1.weight", "[120, 400]", "[120, 401]"])
  }

  func testWeightsOfAnotherModelNameTheMissingKey() throws {
    var m = valid()
    m["model"] = ["name": "lenet", "weights": "\(CLIHarness.fixtures)/twolayer-w0/weights.safetensors"]
    try expectBadInput(m, mentions: ["twolayer-w0/weights.safetensors", "conv1.weight", "[6, 3, 5, 5]"])
  }

  func testNpyDatasetWithWrongShapeIsNamed() throws {
    var m = valid()
    m["dataset"] = ["name": "npy", "path": "\(CLIHarness.fixtures)/lenet-w0/logits.npy"]
    try expectBadInput(m, mentions: ["logits.npy", "[3, 10]"])
  }

  func testNotJSONIsOneLine() throws {
    let path = "\(work)/broken.json"
    try Data([0x7B, 0xFF, 0xFE, 0x22]).write(to: URL(fileURLWithPath: path))
    let result = try CLIHarness.run(["run", path, "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertEqual(result.status, 2)
    XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    XCTAssertTrue(result.stderr.contains("broken.json"), result.stderr)
  }
}
