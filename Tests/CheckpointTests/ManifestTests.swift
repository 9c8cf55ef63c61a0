import XCTest
import Datasets
@testable import Checkpoint
import TestSupport
import Engine

final class ManifestTests: XCTestCase {
  private let models: Set<String> = ["logistic", "twolayer", "lenet"]
  private let example = """
    {"name": "demo",
     "dataset": {"name": "mnist", "root": "data/mnist-sample", "subsample": 1000},
     "model": {"name": "lenet", "width": 64, "seed": 0, "weights": "optional/path.safetensors"},
     "ntk": {"precision": "float32", "normalization": "sqrt-params", "tileSamples": 100}}
    """

  private func parse(_ text: String) throws -> Manifest {
    try Manifest.parse(Array(text.utf8), file: "manifests/x.json", knownModels: models, knownDatasets: DatasetKind.manifestNames)
  }

  /// The message `parse` fails with (or a test failure if it succeeds).
  private func failure(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
    do {
      _ = try parse(text)
      XCTFail("expected an error for \(text)", file: file, line: line)
      return ""
    } catch let error as CheckpointError {
      XCTAssertEqual(error.code, .badInput, file: file, line: line)
      XCTAssertFalse(error.message.contains("\n"), "one line: \(error.message)", file: file, line: line)
      return error.message
    } catch {
      XCTFail("unexpected error type \(error)", file: file, line: line)
      return ""
    }
  }

  func testExampleParses() throws {
    let manifest = try parse(example)
    XCTAssertEqual(manifest.name, "demo")
    XCTAssertEqual(manifest.dataset, Manifest.Dataset(name: "mnist", root: "data/mnist-sample", subsample: 1000))
    XCTAssertEqual(manifest.model, Manifest.Model(name: "lenet", width: 64, seed: 0, weights: "optional/path.safetensors"))
    XCTAssertEqual(manifest.ntk, Manifest.NTK(precision: .float32, normalization: .sqrtParams, tileSamples: 100))
  }

  func testDefaults() throws {
    let manifest = try parse(#"{"name": "d", "dataset": {"name": "npy", "path": "x.npy"}, "model": {"name": "logistic"}}"#)
    XCTAssertEqual(manifest.model.width, 64)
    XCTAssertEqual(manifest.model.seed, 0)
    XCTAssertNil(manifest.model.weights)
    XCTAssertNil(manifest.dataset.subsample)
    XCTAssertEqual(manifest.ntk, Manifest.NTK(precision: .float32, normalization: .sqrtParams, tileSamples: 100))
    let full = try parse(#"{"name": "d", "dataset": {"name": "npy", "path": "x.npy"}, "model": {"name": "logistic", "width": 64, "seed": 0}, "ntk": {"precision": "float32", "normalization": "sqrt-params", "tileSamples": 100}}"#)
    XCTAssertEqual(manifest.canonicalHash, full.canonicalHash, "defaults written out or not: same manifest")
  }

  func testErrorsNameFileAndField() {
    // (text replaced in `example`, its replacement, the error)
    let edits: [(String, String, String)] = [
      ("\"tileSamples\": 100", "\"tileSamples\": -3",
       "manifests/x.json: ntk.tileSamples: expected a positive integer up to 100000, found -3"),
      ("\"seed\": 0", "\"seed\": 0, \"colour\": 1",
       "manifests/x.json: model.colour: unknown field (expected name, width, seed, weights, train)"),
      ("\"width\": 64", "\"width\": \"wide\"",
       "manifests/x.json: model.width: expected an integer from 1 to 4096, found \"wide\""),
      ("\"name\": \"lenet\", ", "",
       "manifests/x.json: model.name: missing (required)"),
      ("float32", "float16",
       "manifests/x.json: ntk.precision: expected float32 or float64, found \"float16\""),
      ("sqrt-params", "sqrt",
       "manifests/x.json: ntk.normalization: expected none or sqrt-params, found \"sqrt\""),
      ("\"lenet\"", "\"resnet1000\"",
       "manifests/x.json: model.name: expected one of lenet, logistic, twolayer, found \"resnet1000\""),
      ("\"mnist\"", "\"npy\"",
       "manifests/x.json: dataset.path: missing (required when dataset.name is npy: the .npy file)"),
      ("\"root\": \"data/mnist-sample\", ", "",
       "manifests/x.json: dataset.root: missing (required when dataset.name is mnist: the folder of its files)"),
      ("1000}", "0}",
       "manifests/x.json: dataset.subsample: expected a positive integer, found 0"),
      ("1000}", "1e400}",
       "manifests/x.json: dataset.subsample: expected a positive integer, found a number too large to represent"),
    ]
    for (text, replacement, expected) in edits {
      XCTAssertEqual(failure(example.replacingOccurrences(of: text, with: replacement)), expected)
    }
    XCTAssertEqual(failure(example.replacingOccurrences(of: "1000}", with: "99999999999999999999999}")).hasPrefix("manifests/x.json: dataset.subsample: expected a positive integer, found "), true)
    XCTAssertEqual(failure(example.replacingOccurrences(of: "\"tileSamples\": 100", with: "\"tileSamples\": 2.5")),
                   "manifests/x.json: ntk.tileSamples: expected a positive integer up to 100000, found 2.5")
    XCTAssertEqual(failure("[1, 2]"), "manifests/x.json: expected a JSON object at the top level, found an array")
    XCTAssertEqual(failure("\"demo\""), "manifests/x.json: expected a JSON object at the top level, found \"demo\"")
    XCTAssertEqual(failure(#"{"name": "d", "dataset": 3, "model": {"name": "lenet"}}"#),
                   "manifests/x.json: dataset: expected an object, found 3")
    XCTAssertEqual(failure(#"{"name": "", "dataset": {"name": "npy", "path": "a.npy"}, "model": {"name": "lenet"}}"#),
                   "manifests/x.json: name: expected 1 to 200 letters, digits, '.', '_' or '-', not starting with '.' (it names the run directory runs/<name>), found \"\"")
    // A name is a directory name under runs/: no path separators, no escaping upwards.
    XCTAssertTrue(failure(#"{"name": "../../etc", "dataset": {"name": "npy", "path": "a.npy"}, "model": {"name": "lenet"}}"#)
      .hasPrefix("manifests/x.json: name: expected 1 to 200 letters"))
    XCTAssertTrue(failure(#"{"name": "d", "dataset": {"name": "npy", "path": "a.txt"}, "model": {"name": "lenet"}}"#)
                    .hasPrefix("manifests/x.json: dataset.path: expected a .npy file"))
    XCTAssertTrue(failure("{").hasPrefix("manifests/x.json: not valid JSON"))
    XCTAssertTrue(failure(String(repeating: "[", count: 100_000)).hasPrefix("manifests/x.json: not valid JSON"))
  }

  func testInvalidUTF8IsAnError() {
    var bytes = Array(example.utf8)
    bytes[3] = 0xFF
    XCTAssertThrowsError(try Manifest.parse(bytes, file: "m.json", knownModels: models, knownDatasets: DatasetKind.manifestNames)) { error in
      XCTAssertEqual("\(error)".prefix(30), "m.json: not valid UTF-8, expec")
    }
  }

  func testLoadResolvesPathsAgainstManifestFolderAndChecksThem() throws {
    let dir = try TemporaryDirectory("manifest")
    defer { dir.remove() }
    try FileManager.default.createDirectory(atPath: dir.path + "/manifests", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: dir.path + "/data/mnist-sample", withIntermediateDirectories: true)
    let text = #"{"name": "demo", "dataset": {"name": "mnist", "root": "../data/mnist-sample"}, "model": {"name": "lenet"}}"#
    let path = dir.path + "/manifests/demo.json"
    try writeBytes(Array(text.utf8), path)
    let manifest = try Manifest.load(path: path, knownModels: models, knownDatasets: DatasetKind.manifestNames)
    XCTAssertEqual(manifest.resolvedDatasetRoot, (dir.path as NSString).standardizingPath + "/data/mnist-sample")
    let missing = dir.path + "/manifests/bad.json"
    try writeBytes(Array(text.replacingOccurrences(of: "mnist-sample", with: "nothing").utf8), missing)
    XCTAssertThrowsError(try Manifest.load(path: missing, knownModels: models, knownDatasets: DatasetKind.manifestNames)) { error in
      XCTAssertTrue("\(error)".hasPrefix("\(missing): dataset.root: no such folder"), "\(error)")
    }
    // A manifest in the current directory: its relative paths as written, standardized, with no
    // "./" in front (a tester's finding: errors named ./../../data/… and ./nan.npy).
    var here = manifest
    here.baseDirectory = "."
    XCTAssertEqual(here.resolve("../data/mnist-sample"), "../data/mnist-sample")
    XCTAssertEqual(here.resolve("nan.npy"), "nan.npy")
    XCTAssertEqual(here.resolve("./nan.npy"), "nan.npy")
    XCTAssertEqual(here.resolve("/abs/x.npy"), "/abs/x.npy")
    XCTAssertThrowsError(try Manifest.load(path: dir.path + "/none.json", knownModels: models, knownDatasets: DatasetKind.manifestNames)) { error in
      XCTAssertEqual("\(error)", "\(dir.path)/none.json: cannot read the manifest: no such file")
    }
  }

  func testCanonicalHashIsStableAndSensitive() throws {
    let a = try parse(example)
    let reordered = try parse(#"{"ntk": {"tileSamples": 100, "normalization": "sqrt-params", "precision": "float32"}, "model": {"weights": "optional/path.safetensors", "seed": 0, "width": 64, "name": "lenet"}, "dataset": {"subsample": 1000, "root": "data/mnist-sample", "name": "mnist"}, "name": "demo"}"#)
    XCTAssertEqual(a.canonicalHash, reordered.canonicalHash)
    let b = try parse(example.replacingOccurrences(of: "\"seed\": 0", with: "\"seed\": 1"))
    XCTAssertNotEqual(a.canonicalHash, b.canonicalHash)
    XCTAssertEqual(String(decoding: a.canonicalJSON(), as: UTF8.self),
                   #"{"dataset":{"name":"mnist","root":"data/mnist-sample","subsample":1000},"model":{"name":"lenet","seed":0,"weights":"optional/path.safetensors","width":64},"name":"demo","ntk":{"normalization":"sqrt-params","precision":"float32","tileSamples":100}}"#)
    // The canonical JSON decodes back (strictly) to the same manifest.
    XCTAssertEqual(try JSONDecoder().decode(Manifest.self, from: Data(a.canonicalJSON())), a)
  }

  /// ≥ 1,000 mutated manifests: each either parses or fails with a one-line `.badInput` error
  /// naming the file; never a crash or a hang.
  func testFuzzedManifestsNeverCrash() {
    var generator = SplitMix64(seed: 20_261_130)
    let base = Array(example.utf8)
    let tokens: [String] = ["-1", "0", "1e400", "-1e400", "99999999999999999999", "1.5", "null", "true", "\"\"",
                            "[]", "{}", "[[[[[[[[[[]]]]]]]]]]", "\"float64\"", "\"none\"", "\"npy\"", "\"x.npy\"",
                            "\"resnet\"", "\"\\u0000\"", "\"\\ud800\"", String(repeating: "[", count: 600), "{\"a\":", ","]
    var parsed = 0
    var rejected = 0
    for iteration in 0..<1500 {
      var bytes = base
      for _ in 0..<Int.random(in: 1...4, using: &generator) {
        switch Int.random(in: 0..<6, using: &generator) {
        case 0:  // flip a byte
          let i = Int.random(in: 0..<bytes.count, using: &generator)
          bytes[i] = UInt8.random(in: 0...255, using: &generator)
        case 1:  // delete a range
          let i = Int.random(in: 0..<bytes.count, using: &generator)
          bytes.removeSubrange(i..<min(bytes.count, i + Int.random(in: 1...8, using: &generator)))
        case 2:  // insert a token
          let i = Int.random(in: 0...bytes.count, using: &generator)
          bytes.insert(contentsOf: Array(tokens.randomElement(using: &generator)!.utf8), at: i)
        case 3:  // replace a value after a colon with a token
          let colons = bytes.indices.filter { bytes[$0] == UInt8(ascii: ":") }
          if let colon = colons.randomElement(using: &generator) {
            var end = colon + 1
            while end < bytes.count, bytes[end] != UInt8(ascii: ","), bytes[end] != UInt8(ascii: "}") { end += 1 }
            bytes.replaceSubrange((colon + 1)..<end, with: Array((" " + tokens.randomElement(using: &generator)!).utf8))
          }
        case 4:  // truncate
          bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator)))
        default:  // drop a key
          let text = String(decoding: bytes, as: UTF8.self)
          let key = ["\"seed\": 0, ", "\"subsample\": 1000", ", \"weights\": \"optional/path.safetensors\"", "\"name\": \"demo\",", "\"precision\": \"float32\", "].randomElement(using: &generator)!
          bytes = Array(text.replacingOccurrences(of: key, with: "").utf8)
        }
        if bytes.isEmpty { bytes = [UInt8(ascii: "{")] }
      }
      do {
        _ = try Manifest.parse(bytes, file: "fuzz-\(iteration).json", knownModels: models, knownDatasets: DatasetKind.manifestNames)
        parsed += 1
      } catch let error as CheckpointError {
        rejected += 1
        XCTAssertEqual(error.code, .badInput)
        XCTAssertTrue(error.message.hasPrefix("fuzz-\(iteration).json: "), error.message)
        XCTAssertFalse(error.message.contains("\n"), error.message)
      } catch {
        XCTFail("iteration \(iteration): unexpected error type \(error)")
      }
    }
    XCTAssertEqual(parsed + rejected, 1500)
    XCTAssertGreaterThan(rejected, 1000)
  }
}

extension ManifestTests {
  func testMalformedNestedStringsAreInvalidJSONNotNumbers() {
    for bad in [#"{"name": "\ud800", "dataset": {}, "model": {}}"#, #"{"name": "d", "dataset": {"name": "x\q"}, "model": {}}"#] {
      XCTAssertThrowsError(try Manifest.parse(Array(bad.utf8), file: "m.json", knownModels: nil, knownDatasets: DatasetKind.manifestNames)) { error in
        XCTAssertTrue("\(error)".hasPrefix("m.json: not valid JSON"), "\(error)")
      }
    }
  }
}

extension ManifestTests {
  /// A width on a model without one (tester-s5): refused unless it is the default (the same hash
  /// as no width); the ResNets take any width; without `modelsWithWidth` nothing is checked.
  func testAWidthOnAModelWithoutOneIsRefused() throws {
    func manifest(_ model: String) -> [UInt8] {
      Array(#"{"name": "w", "dataset": {"name": "npy", "path": "x.npy"}, "model": \#(model)}"#.utf8)
    }
    let withWidth: Set<String> = ["resnet18"]
    let names: Set<String> = ["lenet", "resnet18"]
    XCTAssertThrowsError(try Manifest.parse(manifest(#"{"name": "lenet", "width": 8}"#), file: "m.json", knownModels: names,
                                            knownDatasets: DatasetKind.manifestNames, modelsWithWidth: withWidth)) { error in
      XCTAssertEqual((error as? CheckpointError)?.code, .badInput)
      XCTAssertEqual((error as? CheckpointError)?.message,
                     "m.json: model.width: lenet has no width (only resnet18 have one), found 8; remove model.width")
    }
    let plain = try Manifest.parse(manifest(#"{"name": "lenet"}"#), file: "m.json", knownModels: names,
                                   knownDatasets: DatasetKind.manifestNames, modelsWithWidth: withWidth)
    let sixtyFour = try Manifest.parse(manifest(#"{"name": "lenet", "width": 64}"#), file: "m.json", knownModels: names,
                                       knownDatasets: DatasetKind.manifestNames, modelsWithWidth: withWidth)
    XCTAssertEqual(sixtyFour.canonicalHash, plain.canonicalHash)
    let resnet = try Manifest.parse(manifest(#"{"name": "resnet18", "width": 8}"#), file: "m.json", knownModels: names,
                                    knownDatasets: DatasetKind.manifestNames, modelsWithWidth: withWidth)
    XCTAssertEqual(resnet.model.width, 8)
    XCTAssertEqual(try Manifest.parse(manifest(#"{"name": "lenet", "width": 8}"#), file: "m.json", knownModels: names,
                                      knownDatasets: DatasetKind.manifestNames).model.width, 8)
  }
}

extension ManifestTests {
  /// Every integer field refuses a number written with a fraction or an exponent, whatever its
  /// value (`20.0`, `2e1`, and `20.0000000000000001`, which rounds to 20.0), naming the field and
  /// the literal as written; `20.5` stays refused by its value; digits alone are accepted.
  func testIntegerFieldsTakeDigitsOnly() throws {
    let manifest = #"""
      {"name": "d", "dataset": {"name": "mnist", "root": "r", "subsample": <SUBSAMPLE>},
       "columns": {"name": "mnist", "root": "r", "subsample": <COLUMNS>},
       "model": {"name": "lenet", "width": <WIDTH>, "seed": <SEED>,
                 "train": {"batchSize": <BATCH>, "epochs": <EPOCHS>, "seed": <TRAINSEED>, "samples": <SAMPLES>}},
       "ntk": {"tileSamples": <TILES>, "memoryBudget": <BUDGET>}}
      """#
    let fields: [(placeholder: String, path: String, expected: String)] = [
      ("<SUBSAMPLE>", "dataset.subsample", "a positive integer"),
      ("<COLUMNS>", "columns.subsample", "a positive integer"),
      ("<WIDTH>", "model.width", "an integer from 1 to 4096"),
      ("<SEED>", "model.seed", "a non-negative integer"),
      ("<BATCH>", "model.train.batchSize", "an integer from 1 to \(Manifest.Training.maximumBatchSize)"),
      ("<EPOCHS>", "model.train.epochs", "an integer from 1 to \(Manifest.Training.maximumEpochs)"),
      ("<TRAINSEED>", "model.train.seed", "a non-negative integer"),
      ("<SAMPLES>", "model.train.samples", "a positive integer"),
      ("<TILES>", "ntk.tileSamples", "a positive integer up to 100000"),
      ("<BUDGET>", "ntk.memoryBudget", "a positive integer number of bytes or \"auto\""),
    ]
    func text(_ replaced: String, with literal: String) -> String {
      fields.reduce(manifest) { $0.replacingOccurrences(of: $1.placeholder, with: $1.placeholder == replaced ? literal : "64") }
    }
    let accepted = try parse(text("", with: ""))
    XCTAssertEqual([accepted.dataset.subsample, accepted.columns?.subsample, accepted.model.width, accepted.model.seed,
                    accepted.model.train?.batchSize, accepted.model.train?.epochs, accepted.model.train?.seed,
                    accepted.model.train?.samples, accepted.ntk.tileSamples, accepted.ntk.memoryBudget], Array(repeating: 64, count: 10))
    for field in fields {
      for (literal, value) in [("64.0", "64"), ("6.4e1", "64"), ("64.0000000000000001", "64"), ("64E0", "64"), ("-0.0", "0")] {
        XCTAssertEqual(failure(text(field.placeholder, with: literal)),
                       "manifests/x.json: \(field.path): expected \(field.expected), found \(literal) (an integer field takes digits only: \(value))")
      }
      XCTAssertEqual(failure(text(field.placeholder, with: "64.5")), "manifests/x.json: \(field.path): expected \(field.expected), found 64.5")
    }
  }
}
