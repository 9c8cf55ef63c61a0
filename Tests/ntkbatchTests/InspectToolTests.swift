import Foundation
import Storage
import XCTest

/// `tools/inspect.py` on a real run (LeNet trained for one epoch, its eNTK over 200 MNIST digits):
/// it makes its own virtual environment from PyPI (NumPy, Matplotlib), assembles the run, writes
/// a PNG, and prints the top eigenvalue NumPy computes from the assembled matrix.
final class InspectToolTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("inspect") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  static let script = CLIHarness.repositoryRoot + "/tools/inspect.py"
  static let venv = ProcessInfo.processInfo.environment["NTKBATCH_INSPECT_VENV"] ?? CLIHarness.repositoryRoot + "/.build/inspect-venv"

  /// `python3 tools/inspect.py ARGUMENTS --ntkbatch BINARY`; on Debian without `python3-venv`
  /// (the script then cannot make its environment), as root, installs it with apt-get and retries.
  func inspect(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let command = [Self.script] + arguments + ["--ntkbatch", CLIHarness.binary.path]
    var result = try PythonEnvironment.shell("/usr/bin/env", ["python3"] + command, timeout: 1500)
    if result.status != 0, result.output.contains("cannot create a virtual environment"), getuid() == 0,
       FileManager.default.isExecutableFile(atPath: "/usr/bin/apt-get") {
      try PythonEnvironment.shell("/usr/bin/apt-get", ["update", "-qq"])
      try PythonEnvironment.shell("/usr/bin/env", ["DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", "python3-venv"])
      try? FileManager.default.removeItem(atPath: Self.venv)
      result = try PythonEnvironment.shell("/usr/bin/env", ["python3"] + command, timeout: 1500)
    }
    return result
  }

  /// The value after `prefix` on the line that starts with it.
  func number(after prefix: String, in output: String, line: UInt = #line) throws -> Double {
    let found = output.split(separator: "\n").first { $0.hasPrefix(prefix) }
    let text = try XCTUnwrap(found, "no line \(prefix) in: \(output)", line: line).dropFirst(prefix.count)
    return try XCTUnwrap(Double(text.trimmingCharacters(in: .whitespaces)), "not a number: \(text)", line: line)
  }

  /// Width and height from a PNG's IHDR chunk, after checking the signature.
  func pngSize(_ path: String) throws -> (width: Int, height: Int) {
    let bytes = try FileBytes.read(path: path)
    XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "not a PNG")
    XCTAssertEqual(String(decoding: bytes[12..<16], as: UTF8.self), "IHDR")
    func u32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
    XCTAssertEqual(Array(bytes.suffix(8).prefix(4)), Array("IEND".utf8), "PNG without its IEND chunk (truncated)")
    return (u32(16), u32(20))
  }

  func testReportOfARealRunShowsNumPysTopEigenvalueAndAValidPNG() throws {
    let manifest = try CLIHarness.writeManifest([
      "name": "inspect",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 200],
      "model": ["name": "lenet", "seed": 0, "train": ["epochs": 1, "lr": 0.05, "batchSize": 50, "samples": 1000, "seed": 0]],
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 50],
    ], in: work)
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])

    let report = "\(work)/report.png"
    let result = try inspect([run, "--output", report])
    XCTAssertEqual(result.status, 0, result.output)
    let top = try number(after: "top eigenvalue:", in: result.output)
    XCTAssertTrue(result.output.contains("kernel: full, shape (2000, 2000)"), result.output)
    XCTAssertTrue(result.output.contains("class-block mean kernel M[c, d]"), result.output)
    XCTAssertTrue(result.output.contains("network accuracy on the run's 200 samples"), result.output)
    let size = try pngSize(report)
    XCTAssertGreaterThanOrEqual(size.width, 800)
    XCTAssertGreaterThanOrEqual(size.height, 250)
    let bytes = try FileManager.default.attributesOfItem(atPath: report)[.size] as! Int
    XCTAssertGreaterThan(bytes, 20_000, "an almost empty picture")
    XCTAssertLessThan(bytes, 3_000_000)

    // The same number from NumPy on the matrix ntkbatch assembles, in the script's environment.
    let matrix = "\(work)/G.npy"
    try CLIHarness.succeed(["assemble", run, "--output", matrix, "--progress", "none"])
    let numpy = try PythonEnvironment.shell(Self.venv + "/bin/python", ["-c", """
      import numpy as np
      G = np.load("\(matrix)").astype(np.float64)
      assert np.array_equal(G, G.T)
      print("numpy top eigenvalue:", repr(float(np.linalg.eigvalsh(G)[-1])))
      """])
    XCTAssertEqual(numpy.status, 0, numpy.output)
    let expected = try number(after: "numpy top eigenvalue:", in: numpy.output)
    XCTAssertGreaterThan(expected, 0)
    XCTAssertEqual(top, expected, accuracy: 1e-9 * expected)

    // An assembled array with its labels gives the same spectrum.
    let array = try inspect([matrix, "--labels", "\(run)/labels.npy", "--output", "\(work)/array.png"])
    XCTAssertEqual(array.status, 0, array.output)
    XCTAssertEqual(try number(after: "top eigenvalue:", in: array.output), expected, accuracy: 1e-9 * expected)
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(work)/array.png"))

    // --test needs a cross run: a square run is refused in one line (exit 2), as is a folder
    // that is no run.
    let square = try inspect([run, "--test", run, "--output", "\(work)/x.png"])
    XCTAssertEqual(square.status, 2, square.output)
    XCTAssertTrue(square.output.contains("not a cross run"), square.output)
    let none = try inspect([run, "--test", work, "--output", "\(work)/y.png"])
    XCTAssertEqual(none.status, 2, none.output)
    XCTAssertTrue(none.output.contains("not a run directory"), none.output)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/x.png"))

    // --test with a real cross run whose columns are the run's own 200 digits: kernel regression
    // with a tiny ridge interpolates its training targets, so its "test" accuracy is exactly 1,
    // and the network's accuracy on the columns is its accuracy on the run's samples.
    let crossManifest = try CLIHarness.writeManifest([
      "name": "inspect-cross",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 200],
      "columns": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 200],
      "model": ["name": "lenet", "seed": 0, "train": ["epochs": 1, "lr": 0.05, "batchSize": 50, "samples": 1000, "seed": 0]],
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 50],
    ], in: work, name: "cross")
    try CLIHarness.succeed(["run", crossManifest, "--run-dir", "\(work)/cross", "--progress", "none"])
    let regression = try inspect([run, "--test", "\(work)/cross", "--output", "\(work)/regression.png"])
    XCTAssertEqual(regression.status, 0, regression.output)
    XCTAssertEqual(try number(after: "kernel regression test accuracy:", in: regression.output), 1)
    let network = try number(after: "network test accuracy (columns-logits.npy):", in: regression.output)
    let own = try XCTUnwrap(regression.output.split(separator: "\n").first { $0.contains("network accuracy on the run's 200 samples") })
    XCTAssertTrue(own.contains(String(format: "%.4f", network)), "network accuracy on the columns \(network) vs \(own)")
    XCTAssertGreaterThan(try pngSize("\(work)/regression.png").width, 800)
  }

  /// The demo run itself (`manifests/demo.json`: LeNet trained 20 epochs on the 5,000 shipped
  /// digits, its eNTK over the first 1,000), as the README's picture: the report is a valid PNG
  /// of the (10,000 × 10,000) matrix, every eigenvalue positive, and the trained network classifies
  /// more than 95 % of its digits (the README's picture shows 98.4 %). A few minutes on 2 cores.
  func testReportOfTheDemoRun() throws {
    let manifest = "\(work)/demo.json"
    // The shipped manifest, its dataset root made absolute (it is relative to manifests/).
    var object = try XCTUnwrap(JSONSerialization.jsonObject(
      with: Data(contentsOf: URL(fileURLWithPath: CLIHarness.repositoryRoot + "/manifests/demo.json"))) as? [String: Any])
    var dataset = try XCTUnwrap(object["dataset"] as? [String: Any])
    dataset["root"] = CLIHarness.repositoryRoot + "/data/mnist-sample"
    object["dataset"] = dataset
    try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: manifest))
    let run = "\(work)/demo"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    let report = "\(work)/demo-report.png"
    let result = try inspect([run, "--output", report])
    XCTAssertEqual(result.status, 0, result.output)
    XCTAssertTrue(result.output.contains("kernel: full, shape (10000, 10000)"), result.output)
    XCTAssertTrue(result.output.contains("eigenvalues: 10000; > 0: 10000;"), result.output)
    XCTAssertGreaterThan(try number(after: "top eigenvalue:", in: result.output), 0)
    let accuracy = try XCTUnwrap(result.output.split(separator: "\n").first { $0.hasPrefix("network accuracy on the run's 1000 samples") })
    XCTAssertGreaterThan(try XCTUnwrap(Double(accuracy.split(separator: " ").last.map(String.init) ?? "")), 0.95, String(accuracy))
    let size = try pngSize(report)
    XCTAssertGreaterThanOrEqual(size.width, 800)
    XCTAssertGreaterThanOrEqual(size.height, 250)
  }

  /// One-line refusals (exit 2), before anything expensive, of inputs that used to give wrong
  /// numbers: a cross kernel as the eNTK (main input or --matrix), another run's matrix, a class
  /// subset, labels of another count, a --test run of other weights under the same manifest text,
  /// a non-PNG --output or one in a missing folder; and --top k says k.
  func testRefusesCrossForeignSubsetAndMismatchedInputsUpFront() throws {
    func manifest(_ name: String, rows: Int, columns: Int? = nil, model: [String: Any]) throws -> String {
      var object: [String: Any] = [
        "name": name, "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": rows],
        "model": model, "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 10],
      ]
      if let columns { object["columns"] = ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": columns] }
      return try CLIHarness.writeManifest(object, in: work, name: name)
    }
    func refused(_ arguments: [String], _ mentions: String, line: UInt = #line) throws {
      let result = try inspect(arguments)
      XCTAssertEqual(result.status, 2, result.output, line: line)
      XCTAssertTrue(result.output.contains(mentions), "\(result.output) lacks \(mentions)", line: line)
      XCTAssertFalse(result.output.contains("Traceback"), result.output, line: line)
      XCTAssertFalse(result.output.contains("top eigenvalue"), "refused after the spectrum: \(result.output)", line: line)
      XCTAssertEqual(result.output.split(separator: "\n").filter { $0.hasPrefix("inspect.py: error:") }.count, 1, result.output, line: line)
    }
    let png = "\(work)/out.png"
    let lenet: [String: Any] = ["name": "lenet", "seed": 0]
    let (square, cross, other) = ("\(work)/square", "\(work)/cross", "\(work)/other")
    try CLIHarness.succeed(["run", try manifest("square", rows: 30, model: lenet), "--run-dir", square, "--progress", "none"])
    try CLIHarness.succeed(["run", try manifest("cross", rows: 30, columns: 20, model: lenet), "--run-dir", cross, "--progress", "none"])
    try CLIHarness.succeed(["run", try manifest("other", rows: 30, model: ["name": "lenet", "seed": 1]), "--run-dir", other, "--progress", "none"])
    for (run, output, extra) in [(square, "square.zarr", [String]()), (cross, "cross.zarr", []), (other, "other.zarr", []),
                                 (square, "subset.zarr", ["--classes", "0,1,2"]), (square, "subset.npy", ["--classes", "0,1,2"]),
                                 (other, "other.npy", ["--samples", "0:20,0:20"])] {
      try CLIHarness.succeed(["assemble", run, "--output", "\(work)/\(output)", "--progress", "none"] + extra)
    }

    // 1. A cross kernel is no symmetric eNTK: refused as the array and as --matrix.
    try refused(["\(work)/cross.zarr", "--output", png], "a cross kernel")
    try refused([square, "--matrix", "\(work)/cross.zarr", "--output", png], "a cross kernel")
    // 2. Another run's matrix (other weights and manifest), and a plain .npy of another shape.
    try refused([square, "--matrix", "\(work)/other.zarr", "--output", png], "weightsHash")
    try refused([square, "--matrix", "\(work)/other.npy", "--output", png], "shape (200, 200), \(square) assembles to (300, 300)")
    // 3. A class subset: refused from its attributes; a plain .npy of it by the label count.
    try refused(["\(work)/subset.zarr", "--output", png], "holds the classes [0, 1, 2] only")
    try refused(["\(work)/subset.npy", "--labels", "\(square)/labels.npy", "--output", png], "expected [9] integer labels")
    // 5. Arguments first: the output must be a .png in an existing folder.
    try refused([square, "--output", "\(work)/x.txt"], "give a path ending in .png")
    try refused([square, "--output", "\(work)/missing/dir/r.png"], "does not exist")
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/missing"))
    // The run's own Zarr matrix is accepted; --top 3 speaks of 3.
    let own = try inspect([square, "--matrix", "\(work)/square.zarr", "--top", "3", "--output", png])
    XCTAssertEqual(own.status, 0, own.output)
    XCTAssertTrue(own.output.contains("top 3 hold"), own.output)
    XCTAssertFalse(own.output.contains("top 10 hold"), own.output)

    // 4. The same manifest text (weights: one path) but another network's weights in the file
    // when the cross run ran: refused by the journals' weightsHash, before assembling anything.
    let trainer = { (seed: Int) -> [String: Any] in
      ["name": "lenet", "seed": 0, "train": ["epochs": 1, "lr": 0.05, "batchSize": 50, "samples": 100, "seed": seed]]
    }
    let weights = "\(work)/W.safetensors"
    for seed in [0, 1] {
      try CLIHarness.succeed(["run", try manifest("train\(seed)", rows: 10, model: trainer(seed)), "--run-dir", "\(work)/train\(seed)", "--progress", "none"])
      try CLIHarness.succeed(["export-weights", "\(work)/train\(seed)", "--output", "\(work)/W\(seed).safetensors"])
    }
    let fixed: [String: Any] = ["name": "lenet", "seed": 0, "weights": weights]
    try FileManager.default.copyItem(atPath: "\(work)/W0.safetensors", toPath: weights)
    try CLIHarness.succeed(["run", try manifest("wsquare", rows: 30, model: fixed), "--run-dir", "\(work)/wsquare", "--progress", "none"])
    try FileManager.default.removeItem(atPath: weights)
    try FileManager.default.copyItem(atPath: "\(work)/W1.safetensors", toPath: weights)
    try CLIHarness.succeed(["run", try manifest("wcross", rows: 30, columns: 20, model: fixed), "--run-dir", "\(work)/wcross", "--progress", "none"])
    try refused(["\(work)/wsquare", "--test", "\(work)/wcross", "--output", png], "weightsHash")
    // The documented way to pair a trained run with a cross run: export its weights and use them
    // as model.weights. The same network (equal weightsHash), though the manifests' model differ
    // (train vs weights): accepted, and the regression runs.
    try CLIHarness.succeed(["run", try manifest("train0x", rows: 10, columns: 20, model: ["name": "lenet", "seed": 0, "weights": "\(work)/W0.safetensors"]),
                            "--run-dir", "\(work)/train0x", "--progress", "none"])
    let paired = try inspect(["\(work)/train0", "--test", "\(work)/train0x", "--output", png])
    XCTAssertEqual(paired.status, 0, paired.output)
    XCTAssertTrue(paired.output.contains("kernel regression"), paired.output)
    // 5. --test is checked before the run is assembled: a wrong RUN2 fails without "kernel:".
    let early = try inspect([square, "--test", other, "--output", png])
    XCTAssertEqual(early.status, 2, early.output)
    XCTAssertFalse(early.output.contains("kernel: full"), early.output)
  }

  /// A float64 `trace` run (30 digits, so some classes are absent): its own Zarr array is accepted
  /// as `--matrix` (its `classes` attribute is no subset), the class-block summary leaves absent
  /// classes out instead of printing NaN, and `--test` with a float64 cross run over the same
  /// digits regresses without error (the assembled float64 `.npy` maps read-only) to accuracy 1.
  func testFloat64TraceRunWithItsZarrArrayAndACrossRun() throws {
    func manifest(_ name: String, columns: Bool) throws -> String {
      let data: [String: Any] = ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 30]
      var object: [String: Any] = [
        "name": name, "dataset": data, "model": ["name": "lenet", "seed": 0],
        "ntk": ["precision": "float64", "normalization": "sqrt-params", "tileSamples": 7, "kernel": "trace"],
      ]
      if columns { object["columns"] = data }
      return try CLIHarness.writeManifest(object, in: work, name: name)
    }
    let (run, cross) = ("\(work)/trace", "\(work)/trace-cross")
    try CLIHarness.succeed(["run", try manifest("trace", columns: false), "--run-dir", run, "--progress", "none"])
    try CLIHarness.succeed(["run", try manifest("trace-cross", columns: true), "--run-dir", cross, "--progress", "none"])
    try CLIHarness.succeed(["assemble", run, "--output", "\(work)/trace.zarr", "--progress", "none"])

    let zarr = try inspect([run, "--matrix", "\(work)/trace.zarr", "--output", "\(work)/zarr.png"])
    XCTAssertEqual(zarr.status, 0, zarr.output)
    XCTAssertTrue(zarr.output.contains("kernel: trace, shape (30, 30)"), zarr.output)
    let summary = try XCTUnwrap(zarr.output.split(separator: "\n").first { $0.hasPrefix("class-block mean: same class") }, zarr.output)
    XCTAssertFalse(summary.contains("nan"), String(summary))

    let regression = try inspect([run, "--test", cross, "--output", "\(work)/regression.png"])
    XCTAssertEqual(regression.status, 0, regression.output)
    XCTAssertFalse(regression.output.contains("Traceback"), regression.output)
    XCTAssertEqual(try number(after: "kernel regression test accuracy:", in: regression.output), 1)

    // --kernel says the kind of a bare .npy (no attributes); a run directory's kind is its
    // manifest's, and another --kernel for it is refused in one line.
    try CLIHarness.succeed(["assemble", run, "--output", "\(work)/trace.npy", "--progress", "none"])
    let npy = try inspect(["\(work)/trace.npy", "--kernel", "trace", "--labels", "\(run)/labels.npy", "--output", "\(work)/npy.png"])
    XCTAssertEqual(npy.status, 0, npy.output)
    XCTAssertTrue(npy.output.contains("kernel: trace, shape (30, 30)"), npy.output)
    let wrong = try inspect([run, "--kernel", "full", "--output", "\(work)/wrong.png"])
    XCTAssertEqual(wrong.status, 2, wrong.output)
    XCTAssertTrue(wrong.output.contains("--kernel full: \(run) is a run directory whose manifest says ntk.kernel 'trace'"), wrong.output)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/wrong.png"))
  }
}
