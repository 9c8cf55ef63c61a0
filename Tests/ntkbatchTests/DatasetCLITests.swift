import Foundation
import Storage
import XCTest

/// Every dataset of the original tool through the command line: `dataset info` and `run` read the
/// official file layouts with the original preprocessing.
final class DatasetCLITests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("datasets") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  func info(_ root: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    let result = try CLIHarness.succeed(["dataset", "info", root, "--name", name, "--json"], file: file, line: line)
    return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
  }

  /// SHA-256 of a reference `.npy`'s values as float64: the input-data hash of the same images.
  func referenceHash(_ path: String) throws -> String {
    try NpyArray.read(path: path).doubles().withUnsafeBytes { ContentHash.sha256($0) }.hex
  }

  /// Writes an IDX file: big-endian magic `0x0000080d` with `d` dimensions, then the bytes.
  func writeIDX(_ path: String, dimensions: [Int], bytes: [UInt8]) throws {
    var data: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
    for d in dimensions { data += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
    try Data(data + bytes).write(to: URL(fileURLWithPath: path))
  }

  func testSVHNMatFileGivesTheReferenceTensorBitForBit() throws {
    try FileManager.default.copyItem(atPath: "\(CLIHarness.fixtures)/preprocess/svhn_sample.mat", toPath: "\(work)/train_32x32.mat")
    let json = try info(work, "svhn")
    XCTAssertEqual(json["count"] as? Int, 8)
    XCTAssertEqual(json["sha256"] as? String, try referenceHash("\(CLIHarness.fixtures)/preprocess/svhn_first8.npy"))
    // labels [0, 1, 2, 3, 0, 5, 9, 7]
    XCTAssertEqual(json["labelHistogram"] as? [Int], [2, 1, 1, 1, 0, 1, 0, 1, 0, 1])
  }

  func testCIFAR10BatchesInAFolderAreRead() throws {
    let folder = "\(work)/cifar-10-batches-bin"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: "\(CLIHarness.fixtures)/preprocess/cifar_batch.bin", toPath: "\(folder)/data_batch_1.bin")
    for k in 2...5 { FileManager.default.createFile(atPath: "\(folder)/data_batch_\(k).bin", contents: Data()) }
    let json = try info(work, "cifar10")
    XCTAssertEqual(json["count"] as? Int, 8)
    let labels = try NpyArray.read(path: "\(CLIHarness.fixtures)/preprocess/cifar_labels.npy").int64s()
    var histogram = [Int](repeating: 0, count: 10)
    for label in labels { histogram[Int(label)] += 1 }
    XCTAssertEqual(json["labelHistogram"] as? [Int], histogram)
  }

  func testKMNISTAndFashionMNISTGoThroughTheIDXReader() throws {
    // Three 28×28 images: all black, all white, and a gradient; labels 7, 3, 9.
    var pixels = [UInt8](repeating: 0, count: 784) + [UInt8](repeating: 255, count: 784)
    pixels += (0..<784).map { UInt8($0 % 256) }
    for name in ["kmnist", "fmnist"] {
      let root = "\(work)/\(name)"
      try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
      try writeIDX("\(root)/train-images-idx3-ubyte", dimensions: [3, 28, 28], bytes: pixels)
      try writeIDX("\(root)/train-labels-idx1-ubyte", dimensions: [3], bytes: [7, 3, 9])
      let json = try info(root, name)
      XCTAssertEqual(json["count"] as? Int, 3)
      XCTAssertEqual(json["labelHistogram"] as? [Int], [0, 0, 0, 1, 0, 0, 0, 1, 0, 1])
      // Constant images stay constant through the resize: 0 and 1 in every channel.
      let expected = [Double](repeating: 0, count: 3072) + [Double](repeating: 1, count: 3072)
      let hashOfFirstTwo = expected.withUnsafeBytes { ContentHash.sha256($0) }.hex
      let two = try CLIHarness.succeed(["dataset", "info", root, "--name", name, "--subsample", "2", "--json"])
      XCTAssertTrue(two.stdout.contains(hashOfFirstTwo), two.stdout)
    }
  }

  func testTruncatedIDXFileIsABadInputNamingTheFile() throws {
    try writeIDX("\(work)/train-images-idx3-ubyte", dimensions: [3, 28, 28], bytes: [UInt8](repeating: 1, count: 784 * 2))
    try writeIDX("\(work)/train-labels-idx1-ubyte", dimensions: [3], bytes: [1, 2, 3])
    let result = try CLIHarness.run(["dataset", "info", work, "--name", "fmnist"])
    XCTAssertEqual(result.status, 2, result.stderr)
    XCTAssertTrue(result.stderr.contains("train-images-idx3-ubyte"), result.stderr)
    XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
  }

  func testImpossibleIDXSizesLabelsOutOfRangeAndTooFewLabelsAreBadInput() throws {
    // Sizes whose product overflows, a label 42, and 2 labels for 3 images: one line, exit 2 each.
    let cases: [(images: [Int], labels: [UInt8], mentions: String)] = [
      ([0x7FFF_FFFF, 0x7FFF_FFFF, 0x7FFF_FFFF], [1, 2, 3], "impossible"),
      ([3, 28, 28], [1, 42, 3], "42"),
      ([3, 28, 28], [1, 2], "holds 2 labels"),
    ]
    for (k, c) in cases.enumerated() {
      let root = "\(work)/case-\(k)"
      try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
      try writeIDX("\(root)/train-images-idx3-ubyte", dimensions: c.images, bytes: [UInt8](repeating: 9, count: 3 * 784))
      try writeIDX("\(root)/train-labels-idx1-ubyte", dimensions: [c.labels.count], bytes: c.labels)
      let result = try CLIHarness.run(["dataset", "info", root, "--name", "mnist"])
      XCTAssertEqual(result.status, 2, "case \(k): \(result.stderr)")
      XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "case \(k): \(result.stderr)")
      XCTAssertTrue(result.stderr.contains(c.mentions), "case \(k): \(result.stderr)")
    }
  }

  func testRunOnSVHNRecordsTheDatasetHash() throws {
    try FileManager.default.copyItem(atPath: "\(CLIHarness.fixtures)/preprocess/svhn_sample.mat", toPath: "\(work)/train_32x32.mat")
    let manifest = try CLIHarness.writeManifest([
      "name": "svhn", "dataset": ["name": "svhn", "root": work, "subsample": 6],
      "model": ["name": "logistic"], "ntk": ["tileSamples": 4],
    ], in: work)
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/run", "--progress", "none"])
    let status = try CLIHarness.succeed(["status", "\(work)/run", "--json"])
    let info = try CLIHarness.succeed(["dataset", "info", work, "--name", "svhn", "--subsample", "6", "--json"])
    let hash = (try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as! [String: Any])["sha256"] as! String
    XCTAssertTrue(status.stdout.contains(hash), "run did not record the dataset hash \(hash)")
  }
}
