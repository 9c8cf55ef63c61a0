import Foundation
import Storage
import XCTest

/// `ntk.kernel` end to end: `trace`, `pseudo` and `diagonal` runs of LeNet and ResNet18 (width 2)
/// on real MNIST digits, float64, assembled to `.npy` and Zarr, equal the NumPy reductions of the
/// `full` run's assembled matrix (≤ 1e-12 relative; NumPy and zarr-python from PyPI in a virtual
/// environment); `--samples` blocks; `--classes` refused for trace/pseudo (bad input for the run: one line, 2); a bad kernel
/// value refused (2); resume and shards byte-identical; verify and repair on a variant run.
final class KernelVariantCLITests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("kernels") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  func manifest(model: String, width: Int, kernel: String?, subsample: Int = 13, tileSamples: Int = 5,
                name: String) throws -> String {
    var ntk: [String: Any] = ["precision": "float64", "normalization": "none", "tileSamples": tileSamples]
    if let kernel { ntk["kernel"] = kernel }
    return try CLIHarness.writeManifest([
      "name": "kernels",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": subsample],
      "model": width > 0 ? ["name": model, "width": width, "seed": 0] : ["name": model, "seed": 0],
      "ntk": ntk,
    ], in: work, name: name)
  }

  /// Checks each case {"full", "kernel", "npy", "zarr"?, "samples"?}: the variant's array equals
  /// the reduction of the full matrix (float64, relative Frobenius ≤ 1e-12), Zarr equal to .npy
  /// bit for bit; prints "checked N".
  static let checker = #"""
import json, sys
import numpy as np
import zarr

cases = json.load(open(sys.argv[1]))
m = 10
for case in cases:
    G = np.load(case["full"])
    n = G.shape[0] // m
    G4 = G.reshape(n, m, n, m)
    kernel = case["kernel"]
    if kernel == "trace":
        expected = np.einsum("iaja->ij", G4)
    elif kernel == "pseudo":
        expected = G4.sum(axis=(1, 3)) / m
    else:
        expected = np.stack([G4[i, :, i, :] for i in range(n)])
    if "samples" in case:
        a, b = case["samples"]
        expected = expected[a:b, a:b] if kernel != "diagonal" else expected[a:b]
    got = np.load(case["npy"])
    assert got.dtype == np.float64, (case["npy"], got.dtype)
    assert got.shape == expected.shape, (case["npy"], got.shape, expected.shape)
    error = np.linalg.norm(got - expected) / np.linalg.norm(expected)
    assert error <= 1e-12, (case["npy"], error)
    if kernel != "diagonal":
        assert np.array_equal(got, got.T), (case["npy"], "not symmetric")
    if "zarr" in case:
        z = zarr.open_array(case["zarr"], mode="r")
        assert z.shape == got.shape, (case["zarr"], z.shape)
        assert np.array_equal(z[:], got), (case["zarr"], "differs from the .npy")
        assert dict(z.attrs)["kernel"] == kernel, dict(z.attrs)
    print(case["npy"], kernel, got.shape, "relative error %.2e" % error)
print("checked", len(cases))
"""#

  func testVariantsEqualNumPyReductionsOfTheFullMatrix() throws {
    try PythonEnvironment.require()
    var cases: [[String: Any]] = []
    // 13 digits in tiles of 5: blocks 5, 5, 3 (diagonal, off-diagonal and ragged tiles).
    for (model, width) in [("lenet", 0), ("resnet18", 2)] {
      let full = "\(work)/\(model)-full"
      try CLIHarness.succeed(["run", try manifest(model: model, width: width, kernel: nil, name: "\(model)-full"),
                              "--run-dir", full, "--progress", "none"])
      try CLIHarness.succeed(["assemble", full, "--output", full + ".npy", "--progress", "none"])
      for kernel in ["trace", "pseudo", "diagonal"] {
        let run = "\(work)/\(model)-\(kernel)"
        try CLIHarness.succeed(["run", try manifest(model: model, width: width, kernel: kernel, name: "\(model)-\(kernel)"),
                                "--run-dir", run, "--progress", "none"])
        let status = try CLIHarness.succeed(["status", run])
        XCTAssertTrue(status.stdout.contains("tiles:    \(kernel == "diagonal" ? 3 : 6)/\(kernel == "diagonal" ? 3 : 6)"), status.stdout)
        XCTAssertTrue(status.stdout.contains("kernel \(kernel)"), status.stdout)
        try CLIHarness.succeed(["verify", run])
        try CLIHarness.succeed(["assemble", run, "--output", run + ".npy", "--progress", "none"])
        try CLIHarness.succeed(["assemble", run, "--output", run + ".zarr", "--progress", "none"])
        cases.append(["full": full + ".npy", "kernel": kernel, "npy": run + ".npy", "zarr": run + ".zarr"])
        // A block of samples (3…10), Zarr v2 in chunks of 2 samples (20 rows of the [n·10, 10] view for diagonal).
        let chunk = kernel == "diagonal" ? "20" : "2"
        try CLIHarness.succeed(["assemble", run, "--samples", "3:11", "--output", run + "-sub.npy", "--progress", "none"])
        try CLIHarness.succeed(["assemble", run, "--samples", "3:11", "--output", run + "-sub.zarr", "--zarr-format", "2",
                                "--chunk", chunk, "--progress", "none"])
        cases.append(["full": full + ".npy", "kernel": kernel, "npy": run + "-sub.npy", "zarr": run + "-sub.zarr", "samples": [3, 11]])
      }
    }
    let check = try PythonEnvironment.runChecker(Self.checker, cases: cases, in: work)
    XCTAssertEqual(check.status, 0, check.output)
    XCTAssertTrue(check.output.contains("checked \(cases.count)"), check.output)
    print(check.output)
  }

  func testBadKernelAndClassesAreRefused() throws {
    let bad = try manifest(model: "lenet", width: 0, kernel: "x", name: "bad")
    let refused = try CLIHarness.run(["run", bad, "--run-dir", "\(work)/bad", "--progress", "none"])
    XCTAssertEqual(refused.status, 2, refused.stderr)
    XCTAssertTrue(refused.stderr.contains("ntk.kernel: expected full or trace or pseudo or diagonal, found \"x\""), refused.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/bad/journal"))

    let run = "\(work)/trace"
    try CLIHarness.succeed(["run", try manifest(model: "lenet", width: 0, kernel: "trace", subsample: 6, tileSamples: 3, name: "t"),
                            "--run-dir", run, "--progress", "none"])
    let classes = try CLIHarness.run(["assemble", run, "--classes", "0,1", "--output", "\(work)/t.npy"])
    XCTAssertEqual(classes.status, 2, classes.stderr)
    XCTAssertEqual(classes.stderr, "ntkbatch: error: --classes: the run's kernel is trace, one value per sample pair with no classes to select; leave out --classes\n")
    XCTAssertTrue(classes.stderr.contains("--classes: the run's kernel is trace"), classes.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/t.npy"))
    // The same run directory with another kernel is another computation.
    let other = try CLIHarness.run(["run", try manifest(model: "lenet", width: 0, kernel: "pseudo", subsample: 6, tileSamples: 3, name: "t"),
                                    "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(other.status, 2, other.stderr)
    XCTAssertTrue(other.stderr.contains("ntk.kernel"), other.stderr)
    // diagonal: one sample range only.
    let diagonal = "\(work)/diagonal"
    try CLIHarness.succeed(["run", try manifest(model: "lenet", width: 0, kernel: "diagonal", subsample: 6, tileSamples: 3, name: "d"),
                            "--run-dir", diagonal, "--progress", "none"])
    let ranges = try CLIHarness.run(["assemble", diagonal, "--samples", "0:3,3:6", "--output", "\(work)/d.npy"])
    XCTAssertEqual(ranges.status, 2, ranges.stderr)
    XCTAssertEqual(ranges.stderr, "ntkbatch: error: --samples: the run's kernel is diagonal, only the blocks k(x_i, x_i) exist; give one range A:B\n")
    XCTAssertTrue(ranges.stderr.contains("--samples: the run's kernel is diagonal"), ranges.stderr)
    // One range with --classes is a block of the diagonal: element [i − 1, a′, b′] of the full
    // (6, 10, 10) array, classes 7 and 2 in that order; a second range equal to the first is the same.
    try CLIHarness.succeed(["assemble", diagonal, "--output", "\(work)/d-all.npy", "--progress", "none"])
    let all = try NpyArray.read(path: "\(work)/d-all.npy")
    XCTAssertEqual(all.shape, [6, 10, 10])
    for samples in ["1:4", "1:4,1:4"] {
      let output = "\(work)/d-\(samples.count).npy"
      try CLIHarness.succeed(["assemble", diagonal, "--samples", samples, "--classes", "7,2", "--output", output, "--progress", "none"])
      let block = try NpyArray.read(path: output)
      XCTAssertEqual(block.shape, [3, 2, 2], samples)
      let (full, part) = (all.doubles(), block.doubles())
      for i in 0..<3 {
        for (x, a) in [7, 2].enumerated() {
          for (y, b) in [7, 2].enumerated() { XCTAssertEqual(part[i * 4 + x * 2 + y], full[(i + 1) * 100 + a * 10 + b], "\(samples) [\(i), \(x), \(y)]") }
        }
      }
    }
    // check prints the variant's shape and cost.
    let check = try CLIHarness.succeed(["check", try manifest(model: "lenet", width: 0, kernel: "pseudo", subsample: 6, tileSamples: 3, name: "c")])
    XCTAssertTrue(check.stdout.contains("matrix:   6 × 6 (kernel pseudo)"), check.stdout)
  }

  /// A pseudo run stopped after 2 of 6 tiles and resumed is byte-identical to an uninterrupted
  /// one; a damaged object of a diagonal run is named by verify, withdrawn by repair, recomputed
  /// by run, and the result equals the original.
  func testResumeVerifyAndRepairOnVariantRuns() throws {
    let pseudo = try manifest(model: "lenet", width: 0, kernel: "pseudo", subsample: 11, tileSamples: 4, name: "p")
    try CLIHarness.succeed(["run", pseudo, "--run-dir", "\(work)/straight", "--progress", "none"])
    try CLIHarness.succeed(["run", pseudo, "--run-dir", "\(work)/resumed", "--progress", "none", "--max-tiles", "2"])
    XCTAssertEqual(try FaultHarness.journaledObjects("\(work)/resumed").count, 2)
    try CLIHarness.succeed(["run", pseudo, "--run-dir", "\(work)/resumed", "--progress", "none"])
    XCTAssertEqual(try FaultHarness.journaledObjects("\(work)/resumed"), try FaultHarness.journaledObjects("\(work)/straight"))
    XCTAssertEqual(try FaultHarness.assembled("\(work)/resumed", output: "\(work)/r.npy"),
                   try FaultHarness.assembled("\(work)/straight", output: "\(work)/s.npy"))

    // Two shards of the same pseudo run journal the same objects.
    for shard in ["0/2", "1/2"] {
      try CLIHarness.succeed(["run", pseudo, "--run-dir", "\(work)/sharded", "--progress", "none", "--shard", shard])
    }
    XCTAssertEqual(try FaultHarness.journaledObjects("\(work)/sharded"), try FaultHarness.journaledObjects("\(work)/straight"))

    let diagonal = try manifest(model: "lenet", width: 0, kernel: "diagonal", subsample: 11, tileSamples: 4, name: "d")
    let run = "\(work)/diagonal"
    try CLIHarness.succeed(["run", diagonal, "--run-dir", run, "--progress", "none"])
    let objects = try FaultHarness.journaledObjects(run)
    XCTAssertEqual(objects.count, 3)
    let before = try FaultHarness.assembled(run, output: "\(work)/d1.npy")
    XCTAssertEqual(before.count, 128 + 11 * 100 * 4)  // header + [11, 10, 10] float32
    // Flip one byte of tile 1's object (a zstd frame: decompression or the hash fails).
    let path = FaultHarness.objectPath(run, objects[1]!)
    var bytes = try FileBytes.read(path: path)
    bytes[bytes.count / 2] ^= 0x40
    try FileManager.default.removeItem(atPath: path)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let verify = try CLIHarness.run(["verify", run])
    XCTAssertEqual(verify.status, 1, verify.stdout + verify.stderr)
    XCTAssertTrue((verify.stdout + verify.stderr).contains("(1, 1)"), verify.stdout + verify.stderr)
    try CLIHarness.succeed(["repair", run])
    XCTAssertEqual(try FaultHarness.journaledObjects(run).count, 2)
    try CLIHarness.succeed(["run", diagonal, "--run-dir", run, "--progress", "none"])
    try CLIHarness.succeed(["verify", run])
    XCTAssertEqual(try FaultHarness.assembled(run, output: "\(work)/d2.npy"), before)
    let zarr = try CLIHarness.succeed(["assemble", run, "--output", "\(work)/d.zarr", "--classes", "2,7", "--progress", "none"])
    XCTAssertTrue(zarr.stdout.contains("wrote \(work)/d.zarr: 11 × 2 × 2 float64"), zarr.stdout)
  }
}
