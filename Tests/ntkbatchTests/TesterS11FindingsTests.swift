import Foundation
import Storage
import XCTest

/// The findings of fresh tester s11 (README and binary only): the output guard of `assemble` and
/// `export-weights` covers every file the run reads — the training split of a `split: test` run
/// with `model.train`, a folder holding an input, and, when `RUN/manifest.json` cannot tell the
/// inputs, any existing file — and a link to `RUN/manifest.json` resumes RUN.
final class TesterS11FindingsTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws {
    work = try CLIHarness.temporaryDirectory("tester-s11")
    try FileManager.default.copyItem(atPath: "\(CLIHarness.repositoryRoot)/data/mnist-sample", toPath: "\(work)/mn")
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  private func manifest(_ name: String, root: String, split: String? = nil, train: Bool = false) throws -> String {
    var dataset: [String: Any] = ["name": "mnist", "root": root, "subsample": 20]
    if let split { dataset["split"] = split }
    var model: [String: Any] = ["name": "lenet", "seed": 0]
    if train { model["train"] = ["epochs": 1, "batchSize": 10, "samples": 20] }
    return try CLIHarness.writeManifest(["name": name, "dataset": dataset, "model": model, "ntk": ["precision": "float32", "tileSamples": 20]],
                                        in: work, name: name)
  }

  private func refused(_ arguments: [String], saying text: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let result = try CLIHarness.run(arguments)
    XCTAssertEqual(result.status, 2, result.stdout + result.stderr, file: file, line: line)
    XCTAssertTrue(result.stderr.contains(text), result.stderr, file: file, line: line)
    XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr, file: file, line: line)
  }

  /// #1: with `split: test` and `model.train`, training reads the training split: its files are
  /// the run's inputs too.
  func testATestSplitRunWithTrainingProtectsTheTrainingFiles() throws {
    let fm = FileManager.default
    try fm.createDirectory(atPath: "\(work)/sp", withIntermediateDirectories: true)
    for f in ["images-idx3-ubyte", "labels-idx1-ubyte"] {
      try fm.copyItem(atPath: "\(work)/mn/train-\(f).gz", toPath: "\(work)/sp/train-\(f).gz")
      try fm.copyItem(atPath: "\(work)/mn/train-\(f).gz", toPath: "\(work)/sp/t10k-\(f).gz")
    }
    let path = try manifest("sp", root: "\(work)/sp", split: "test", train: true)
    try CLIHarness.succeed(["run", path, "--run-dir", "\(work)/run", "--progress", "none"])
    let before = try CLIHarness.fileTree("\(work)/sp")
    for name in ["t10k-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz", "train-images-idx3-ubyte", "train-labels-idx1-ubyte.gz"] {
      try refused(["assemble", "\(work)/run", "--output", "\(work)/sp/\(name)", "--overwrite", "--progress", "none"],
                  saying: "is the run's own input dataset.root (\(work)/sp/\(name), from \(work)/run/manifest.json)")
    }
    XCTAssertEqual(try CLIHarness.fileTree("\(work)/sp"), before)
  }

  /// #2: a Zarr output replaces a whole folder: never one that holds the dataset or the weights.
  func testAZarrOutputNeverReplacesAFolderHoldingAnInput() throws {
    let path = try manifest("zz", root: "\(work)/mn")
    try CLIHarness.succeed(["run", path, "--run-dir", "\(work)/run", "--progress", "none"])
    try Data(#"{"zarr_format":3,"node_type":"array"}"#.utf8).write(to: URL(fileURLWithPath: "\(work)/mn/zarr.json"))
    let before = try CLIHarness.fileTree("\(work)/mn")
    try refused(["assemble", "\(work)/run", "--format", "zarr", "--output", "\(work)/mn", "--overwrite", "--progress", "none"],
                saying: "\(work)/mn: contains the run's own input dataset.root (\(work)/mn/train-images-idx3-ubyte")
    try refused(["assemble", "\(work)/run", "--format", "zarr", "--output", work, "--overwrite", "--progress", "none"],
                saying: "\(work): contains the run directory")
    XCTAssertEqual(try CLIHarness.fileTree("\(work)/mn"), before)
    try CLIHarness.succeed(["run", path, "--run-dir", "\(work)/run", "--progress", "none"])
  }

  /// #3: while `RUN/manifest.json` is missing, damaged or names inputs by relative paths, the run's
  /// inputs cannot be told: no existing file is replaced; a new output is written; `run` restores
  /// the file and with it the usual rule.
  func testWhileTheInputsCannotBeToldNoExistingFileIsReplaced() throws {
    let path = try manifest("g", root: "\(work)/mn")
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none"])
    let labels = "\(work)/mn/train-labels-idx1-ubyte.gz"
    let before = try FileBytes.read(path: labels)
    let saved = try String(contentsOfFile: "\(run)/manifest.json", encoding: .utf8)
    let rewrites: [(String, String?)] = [
      ("missing", nil), ("damaged", #"{"name": 5}"#),
      ("relative", saved.replacingOccurrences(of: "\"\(work)/mn\"", with: "\"mn\"")),
    ]
    for (what, text) in rewrites {
      if let text { try text.write(toFile: "\(run)/manifest.json", atomically: true, encoding: .utf8) } else { try FileManager.default.removeItem(atPath: "\(run)/manifest.json") }
      try refused(["assemble", run, "--output", labels, "--overwrite", "--progress", "none"],
                  saying: "\(labels): exists, and which files the run reads cannot be told (\(run)/manifest.json: ")
      XCTAssertEqual(try FileBytes.read(path: labels), before, what)
      try CLIHarness.succeed(["assemble", run, "--output", "\(work)/new-\(what).npy", "--progress", "none"])
    }
    try CLIHarness.succeed(["run", path, "--run-dir", run, "--progress", "none"])
    try refused(["assemble", run, "--output", labels, "--overwrite", "--progress", "none"], saying: "is the run's own input dataset.root")
    try CLIHarness.succeed(["assemble", run, "--output", "\(work)/new-missing.npy", "--progress", "none"])
  }

  /// #5: a symbolic link to `RUN/manifest.json`, run without --run-dir, resumes RUN.
  func testALinkToTheRunsManifestResumesTheRun() throws {
    let path = try manifest("m3", root: "\(work)/mn")
    try CLIHarness.succeed(["run", path, "--run-dir", "\(work)/runs/m3", "--progress", "none"])
    try FileManager.default.createDirectory(atPath: "\(work)/other", withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: "\(work)/other/link.json", withDestinationPath: "../runs/m3/manifest.json")
    let resumed = try CLIHarness.succeed(["run", "\(work)/other/link.json", "--progress", "lines"])
    XCTAssertTrue(resumed.stderr.contains("are journaled"), resumed.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: FileManager.default.currentDirectoryPath + "/runs/m3"))
  }
}
