import Foundation
import Storage
import XCTest

/// `dataset.split`: the test split of every dataset, read from files written here, gives exactly
/// what the training-split reader gives for the same bytes; `run` computes on it (training still
/// on the training split) and writes its labels; bad values are one-line errors naming the field.
final class DatasetSplitCLITests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("splits") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  /// The shipped MNIST sample, gunzipped: 5,000 images `[28·28]` and their labels.
  func mnistSample() throws -> (images: [UInt8], labels: [UInt8]) {
    let root = "\(CLIHarness.repositoryRoot)/data/mnist-sample"
    let images = try Gzip.decompress(FileBytes.read(path: "\(root)/train-images-idx3-ubyte.gz"), path: root)
    let labels = try Gzip.decompress(FileBytes.read(path: "\(root)/train-labels-idx1-ubyte.gz"), path: root)
    return (Array(images.dropFirst(16)), Array(labels.dropFirst(8)))
  }

  /// Writes images `range` of the sample as an IDX image file and an IDX label file.
  func writeDigits(_ range: Range<Int>, images: String, labels: String) throws {
    let sample = try mnistSample()
    func header(_ dimensions: [Int]) -> [UInt8] {
      var bytes: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
      for d in dimensions {
        for shift in [24, 16, 8, 0] { bytes.append(UInt8((d >> shift) & 255)) }
      }
      return bytes
    }
    try Data(header([range.count, 28, 28]) + sample.images[(range.lowerBound * 784)..<(range.upperBound * 784)]).write(to: URL(fileURLWithPath: images))
    try Data(header([range.count]) + sample.labels[range]).write(to: URL(fileURLWithPath: labels))
  }

  func shell(_ arguments: [String], in directory: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    try process.run()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0, "\(arguments.joined(separator: " ")) failed")
  }

  func folder(_ name: String) throws -> String {
    let path = "\(work)/\(name)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// `dataset info ROOT --name NAME --split SPLIT --json`: count, histogram and input-data hash.
  func info(_ root: String, _ name: String, split: String, subsample: Int? = nil, line: UInt = #line) throws -> [String: AnyHashable] {
    var arguments = ["dataset", "info", root, "--name", name, "--split", split, "--json"]
    if let subsample { arguments += ["--subsample", String(subsample)] }
    let result = try CLIHarness.succeed(arguments, line: line)
    let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
    XCTAssertEqual(json["split"] as? String, split, line: line)
    return ["count": json["count"] as? Int, "labelHistogram": json["labelHistogram"] as? [Int], "sha256": json["sha256"] as? String]
  }

  func testTestSplitsOfAllFiveDatasetsGiveTheTrainingReadersPreprocessingOfTheSameBytes() throws {
    // MNIST family: training files hold digits 0..<40, test files digits 100..<140 (gzipped for
    // mnist, as downloaded; plain for kmnist and fmnist); a second root holds the test digits as
    // training files.
    for name in ["mnist", "kmnist", "fmnist"] {
      let root = try folder("\(name)-both"), reference = try folder("\(name)-reference")
      try writeDigits(0..<40, images: "\(root)/train-images-idx3-ubyte", labels: "\(root)/train-labels-idx1-ubyte")
      try writeDigits(100..<140, images: "\(root)/t10k-images-idx3-ubyte", labels: "\(root)/t10k-labels-idx1-ubyte")
      if name == "mnist" { try shell(["gzip", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"], in: root) }
      try writeDigits(100..<140, images: "\(reference)/train-images-idx3-ubyte", labels: "\(reference)/train-labels-idx1-ubyte")
      let test = try info(root, name, split: "test")
      XCTAssertEqual(test, try info(reference, name, split: "train"), name)
      XCTAssertEqual(test["count"], 40, name)
      XCTAssertNotEqual(test["sha256"], try info(root, name, split: "train")["sha256"], "\(name): the test split read the training files")
      XCTAssertEqual(try info(root, name, split: "test", subsample: 7), try info(reference, name, split: "train", subsample: 7), name)
    }

    // CIFAR-10: the test batch holds the 8 fixture records reversed; the training batch 1 the
    // records in order. test_batch.bin directly, in cifar-10-batches-bin/, and in the archive.
    let records = try FileBytes.read(path: "\(CLIHarness.fixtures)/preprocess/cifar_batch.bin")
    let reversed = (0..<8).reversed().flatMap { records[($0 * 3073)..<(($0 + 1) * 3073)] }
    let reference = try folder("cifar-reference")
    try Data(reversed).write(to: URL(fileURLWithPath: "\(reference)/data_batch_1.bin"))
    for k in 2...5 { _ = FileManager.default.createFile(atPath: "\(reference)/data_batch_\(k).bin", contents: Data()) }
    let expected = try info(reference, "cifar10", split: "train")
    XCTAssertEqual(expected["count"], 8)
    for layout in ["direct", "folder", "archive"] {
      let root = try folder("cifar-\(layout)")
      let batches = layout == "direct" ? root : try folder("cifar-\(layout)/cifar-10-batches-bin")
      try Data(records).write(to: URL(fileURLWithPath: "\(batches)/data_batch_1.bin"))
      for k in 2...5 { _ = FileManager.default.createFile(atPath: "\(batches)/data_batch_\(k).bin", contents: Data()) }
      try Data(reversed).write(to: URL(fileURLWithPath: "\(batches)/test_batch.bin"))
      if layout == "archive" {
        try shell(["tar", "-czf", "cifar-10-binary.tar.gz", "cifar-10-batches-bin"], in: root)
        try FileManager.default.removeItem(atPath: batches)
      }
      XCTAssertEqual(try info(root, "cifar10", split: "test"), expected, layout)
      XCTAssertNotEqual(try info(root, "cifar10", split: "train")["sha256"], expected["sha256"], layout)
    }

    // SVHN: test_32x32.mat alone (no training file) reads as train_32x32.mat does.
    let svhnTest = try folder("svhn-test"), svhnTrain = try folder("svhn-train")
    try FileManager.default.copyItem(atPath: "\(CLIHarness.fixtures)/preprocess/svhn_sample.mat", toPath: "\(svhnTest)/test_32x32.mat")
    try FileManager.default.copyItem(atPath: "\(CLIHarness.fixtures)/preprocess/svhn_sample.mat", toPath: "\(svhnTrain)/train_32x32.mat")
    let svhn = try info(svhnTest, "svhn", split: "test")
    XCTAssertEqual(svhn, try info(svhnTrain, "svhn", split: "train"))
    XCTAssertEqual(svhn["labelHistogram"], [2, 1, 1, 1, 0, 1, 0, 1, 0, 1])
    let missing = try CLIHarness.run(["dataset", "info", svhnTest, "--name", "svhn"])
    XCTAssertEqual(missing.status, 2, missing.stderr)
    XCTAssertTrue(missing.stderr.contains("train_32x32.mat"), missing.stderr)
  }

  func testBadSplitsAndMissingTestFilesAreOneLineErrorsNamingTheField() throws {
    let root = try folder("train-only")
    try writeDigits(0..<20, images: "\(root)/train-images-idx3-ubyte", labels: "\(root)/train-labels-idx1-ubyte")
    func manifest(_ dataset: [String: Any]) throws -> String {
      try CLIHarness.writeManifest(["name": "split", "dataset": dataset, "model": ["name": "logistic"], "ntk": ["tileSamples": 10]], in: work)
    }
    let cases: [([String: Any], String)] = [
      (["name": "mnist", "root": root, "split": "x"], #"dataset.split: expected "train" or "test", found "x""#),
      (["name": "mnist", "root": root, "split": 3], "dataset.split"),
      (["name": "npy", "path": "\(work)/x.npy", "split": "test"], "dataset.split: not allowed when dataset.name is npy"),
      (["name": "mnist", "root": root, "split": "test"], "t10k-images-idx3-ubyte"),
    ]
    for (dataset, fragment) in cases {
      let result = try CLIHarness.run(["check", try manifest(dataset)])
      XCTAssertEqual(result.status, 2, "\(dataset): \(result.stderr)")
      XCTAssertTrue(result.stderr.contains(fragment), "\(dataset): \(result.stderr) lacks \(fragment)")
      XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }
    // The missing test files are named with what to download.
    let missing = try CLIHarness.run(["dataset", "info", root, "--name", "mnist", "--split", "test"])
    XCTAssertEqual(missing.status, 2, missing.stderr)
    XCTAssertTrue(missing.stderr.contains("t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz"), missing.stderr)
    XCTAssertEqual(try CLIHarness.run(["dataset", "info", root, "--name", "mnist", "--split", "val"]).status, 64)
  }

  func testExplicitTrainSplitIsTheSameRunAsNone() throws {
    let root = "\(CLIHarness.repositoryRoot)/data/mnist-sample"
    func manifest(_ split: String?) throws -> String {
      var dataset: [String: Any] = ["name": "mnist", "root": root, "subsample": 12]
      if let split { dataset["split"] = split }
      return try CLIHarness.writeManifest(["name": "same", "dataset": dataset, "model": ["name": "logistic"], "ntk": ["tileSamples": 6]],
                                          in: work, name: split ?? "absent")
    }
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", try manifest(nil), "--run-dir", run, "--progress", "none"])
    // The same identity: resumed, nothing recomputed; RUN/manifest.json unchanged (no split field).
    let again = try CLIHarness.succeed(["run", try manifest("train"), "--run-dir", run, "--progress", "tiles"])
    XCTAssertEqual(FaultHarness.tileLines(again.stdout), [], again.stdout)
    XCTAssertFalse(try String(contentsOfFile: "\(run)/manifest.json", encoding: .utf8).contains("split"))
  }

  func testRunOnTheTestSplitTrainsOnTheTrainingSplitAndWritesTheTestLabels() throws {
    // Training files: digits 0..<60; test files: digits 100..<130 (fewer than model.train.samples,
    // so training on the test split would fail).
    let root = try folder("data")
    try writeDigits(0..<60, images: "\(root)/train-images-idx3-ubyte", labels: "\(root)/train-labels-idx1-ubyte")
    try writeDigits(100..<130, images: "\(root)/t10k-images-idx3-ubyte", labels: "\(root)/t10k-labels-idx1-ubyte")
    let manifest = try CLIHarness.writeManifest([
      "name": "test-split",
      "dataset": ["name": "mnist", "root": root, "subsample": 20, "split": "test"],
      "model": ["name": "lenet", "seed": 0, "train": ["epochs": 1, "batchSize": 10, "samples": 50]],
      "ntk": ["precision": "float32", "tileSamples": 10],
    ], in: work)
    let check = try CLIHarness.succeed(["check", manifest])
    XCTAssertTrue(check.stdout.contains("dataset:  mnist (test split), n = 20 samples"), check.stdout)
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    try CLIHarness.succeed(["verify", run])
    let status = try CLIHarness.succeed(["status", run, "--json"])
    let hash = try info(root, "mnist", split: "test", subsample: 20)["sha256"] as! String
    XCTAssertTrue(status.stdout.contains(hash), "the run did not record the test split's hash \(hash)")
    XCTAssertFalse(status.stdout.contains(try info(root, "mnist", split: "train", subsample: 20)["sha256"] as! String))
    let labels = try NpyArray.read(path: "\(run)/labels.npy")
    XCTAssertEqual(labels.dtype, .int64)
    XCTAssertEqual(labels.int64s(), try mnistSample().labels[100..<120].map(Int64.init))
    XCTAssertTrue(try String(contentsOfFile: "\(run)/manifest.json", encoding: .utf8).contains("\"split\" : \"test\""))
    let assembled = "\(work)/G.npy"
    try CLIHarness.succeed(["assemble", run, "--output", assembled, "--progress", "none"])
    XCTAssertEqual(try NpyArray.read(path: assembled).shape, [200, 200])
  }

  func testTestSplitDownloadAsksForTheTestFilesWithTorchvisionsMD5() throws {
    // A local server holding only t10k files (the 5,000-digit sample, not the published file):
    // the test split asks for t10k-images-idx3-ubyte.gz, checks it against torchvision's MD5 and
    // installs nothing.
    let served = try folder("served")
    try writeDigits(0..<20, images: "\(served)/t10k-images-idx3-ubyte", labels: "\(served)/t10k-labels-idx1-ubyte")
    try shell(["gzip", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"], in: served)
    let (server, port) = try CLIHarness.serveFolder(served)
    defer { server.terminate(); server.waitUntilExit() }
    let root = "\(work)/mnist"
    let manifest = try CLIHarness.writeManifest([
      "name": "download",
      "dataset": ["name": "mnist", "root": root, "subsample": 10, "split": "test", "download": true, "mirror": "http://127.0.0.1:\(port)/"],
      "model": ["name": "logistic"], "ntk": ["tileSamples": 10],
    ], in: work)
    let result = try CLIHarness.run(["run", manifest, "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    XCTAssertTrue(result.stderr.contains("t10k-images-idx3-ubyte.gz"), result.stderr)
    XCTAssertTrue(result.stderr.contains("expected 9fb629c4189551a2d022fa330f9573f3"), result.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(root)/t10k-images-idx3-ubyte.gz"), "a file failing its checksum was installed")
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/run/journal"))
  }
}
