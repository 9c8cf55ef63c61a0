import Foundation
import Storage
import XCTest

/// `RUN/labels.npy` (`[n]` int64, the labels of the run's samples in run order) is written by
/// `run`, checked by `verify`, removed when damaged by `repair` and written again by `run`, as
/// `logits.npy` is.
final class LabelsFileTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("labels") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  /// The first `count` labels of the shipped MNIST sample.
  func sampleLabels(_ count: Int) throws -> [Int64] {
    let path = "\(CLIHarness.repositoryRoot)/data/mnist-sample/train-labels-idx1-ubyte.gz"
    return try Gzip.decompress(FileBytes.read(path: path), path: path).dropFirst(8).prefix(count).map(Int64.init)
  }

  func testLabelsAreWrittenCheckedRemovedWhenDamagedAndWrittenAgain() throws {
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 30, tileSamples: 10)
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    let path = "\(run)/labels.npy"
    let original = try FileBytes.read(path: path)
    let labels = try NpyArray(bytes: original, path: path)
    XCTAssertEqual(labels.dtype, .int64)
    XCTAssertEqual(labels.shape, [30])
    XCTAssertEqual(labels.int64s(), try sampleLabels(30))
    try CLIHarness.succeed(["verify", run])

    var outOfRange = labels.int64s()
    outOfRange[7] = 10
    func int64Array(_ values: [Int64]) -> [UInt8] {
      NpyArray(header: NpyHeader(dtype: .int64, shape: [values.count]), data: values.withUnsafeBytes { Array($0) }).encoded()
    }
    let damages: [(bytes: [UInt8], mentions: String)] = [
      (Array(original.prefix(50)), "not a readable .npy"),
      (int64Array(outOfRange), "label 10 at [7]"),
      (int64Array(Array(outOfRange.prefix(29))), "[29]"),
      (NpyArray(shape: [30], values: labels.doubles()).encoded(), "<f8"),
    ]
    for damage in damages {
      try Data(damage.bytes).write(to: URL(fileURLWithPath: path))
      let verify = try CLIHarness.run(["verify", run])
      XCTAssertEqual(verify.status, 1, verify.stdout)
      XCTAssertTrue(verify.stdout.contains("DAMAGED \(path): "), verify.stdout)
      XCTAssertTrue(verify.stdout.contains(damage.mentions), "\(verify.stdout) lacks \(damage.mentions)")
      XCTAssertEqual(verify.stderr.split(separator: "\n").count, 1, verify.stderr)
      XCTAssertTrue(verify.stderr.contains("\(path): "), verify.stderr)
      // run writes a damaged copy again by itself, computing no tile.
      let again = try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "tiles"])
      XCTAssertEqual(FaultHarness.tileLines(again.stdout), [])
      XCTAssertEqual(try FileBytes.read(path: path), original)
    }
    try FaultHarness.truncate(path, to: 50)
    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("REMOVED damaged \(path)"), repair.stdout)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run)/logits.npy"), "repair removed the intact logits")
    try CLIHarness.succeed(["verify", run])  // absent is not damage: run writes it
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(try FileBytes.read(path: path), original)
  }

  func testAnNpyDatasetHasNoLabelsAndVerifyIsClean() throws {
    let manifest = try FaultHarness.npyManifest(in: work, samples: 6, tileSamples: 3)
    let run = "\(work)/npy"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run)/logits.npy"))
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(run)/labels.npy"))
    try CLIHarness.succeed(["verify", run])
  }
}
