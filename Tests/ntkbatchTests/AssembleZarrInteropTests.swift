import Foundation
import Storage
import XCTest

/// zarr-python (3.x, from PyPI in a virtual environment) reads ntkbatch's Zarr v3 and v2 arrays of
/// real LeNet runs: equal to the `.npy` assembly bit for bit in float16/32/64 from float32 and
/// float64 runs, NaN exactly where `.missing.json` says for a partial run, the run's attributes
/// present; also a sub-matrix and a cross-kernel run's rectangular arrays (complete and partial).
/// tensorstore reads them too when it is installed.
final class AssembleZarrInteropTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("zarr-interop") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  /// Checks every case: [{"npy", "zarr", "mask"?, "tensorstore"}]; prints "checked N arrays".
  static let checker = #"""
import json, sys
import numpy as np
import zarr

cases = json.load(open(sys.argv[1]))
try:
    import tensorstore as ts
except ImportError:
    ts = None
uint = {2: np.uint16, 4: np.uint32, 8: np.uint64}

def same(a, n, label):
    assert a.dtype == n.dtype, (label, a.dtype, n.dtype)
    assert a.shape == n.shape, (label, a.shape, n.shape)
    nan = np.isnan(n)
    assert np.array_equal(np.isnan(a), nan), (label, "NaN positions differ")
    u = uint[n.dtype.itemsize]
    assert np.array_equal(a.view(u)[~nan], n.view(u)[~nan]), (label, "values differ")

checked = 0
stores = 0
for case in cases:
    label = case["zarr"]
    n = np.load(case["npy"])
    z = zarr.open_array(case["zarr"], mode="r")
    assert z.metadata.zarr_format == case["format"], (label, z.metadata.zarr_format)
    a = z[:]
    same(a, n, label)
    attrs = dict(z.attrs)
    for key in ["model", "P", "n", "normalization", "precision", "dataset", "inputDataHash", "layout", "samples", "classes"]:
        assert key in attrs, (label, "attribute missing", key)
    assert attrs["model"] == "lenet" and attrs["P"] == 62006 and attrs["n"] == 33, (label, attrs)
    assert attrs["precision"] == case["precision"] and attrs["normalization"] == "sqrt-params", (label, attrs)
    assert attrs["dataset"]["name"] == "mnist" and len(attrs["inputDataHash"]) == 64, (label, attrs)
    # Lazy: one block read on its own equals the same block of the .npy.
    same(z[95:131, 7:64], n[95:131, 7:64], label + " block")
    if "mask" in case:
        mask = json.load(open(case["mask"]))
        expected = np.zeros(n.shape, dtype=bool)
        for tile in mask["missingTiles"]:
            for block in tile["blocks"]:
                expected[block["rows"][0]:block["rows"][1], block["columns"][0]:block["columns"][1]] = True
        assert expected.any(), label
        assert np.array_equal(np.isnan(a), expected), (label, "NaN where .missing.json does not say so, or not NaN where it does")
    if ts is not None:
        driver = "zarr3" if case["format"] == 3 else "zarr"
        t = ts.open({"driver": driver, "kvstore": {"driver": "file", "path": case["zarr"]}}, read=True).result()
        same(t.read().result(), n, label + " (tensorstore)")
        stores += 1
    checked += 1
print(f"checked {checked} arrays with zarr {zarr.__version__}; tensorstore: {'read ' + str(stores) if ts else 'not installed'}")
"""#

  func testZarrPythonReadsV3AndV2BitForBitWithAttributesAndMissingTiles() throws {
    try PythonEnvironment.require()
    var cases: [[String: Any]] = []
    // LeNet on 33 MNIST digits in tiles of 10: blocks of 10, 10, 10 and 3 (ragged edge chunks).
    for precision in ["float32", "float64"] {
      let manifest = try FaultHarness.mnistManifest(in: work, name: "m-\(precision)", subsample: 33, tileSamples: 10, precision: precision)
      let run = "\(work)/run-\(precision)"
      try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
      for dtype in ["float16", "float32", "float64"] {
        let base = "\(work)/\(precision)-\(dtype)"
        try CLIHarness.succeed(["assemble", run, "--dtype", dtype, "--output", base + ".npy", "--progress", "none"])
        for format in [3, 2] {
          let zarr = "\(base)-v\(format).zarr"
          let result = try CLIHarness.succeed(["assemble", run, "--dtype", dtype, "--output", zarr, "--zarr-format", "\(format)", "--progress", "none"])
          if dtype == precision {
            // Chunk = tile, run precision: the 3 full-size off-diagonal tiles are their stored frames.
            XCTAssertTrue(result.stdout.contains("13 encoded, 3 copied, 0 linked, 0 absent"), result.stdout)
          } else {
            XCTAssertTrue(result.stdout.contains("16 encoded, 0 copied"), result.stdout)
          }
          cases.append(["npy": base + ".npy", "zarr": zarr, "format": format, "precision": precision])
        }
      }
    }
    // A partial run: 4 of 10 tiles.
    let manifest = try FaultHarness.mnistManifest(in: work, name: "m-float32", subsample: 33, tileSamples: 10, precision: "float32")
    let partialRun = "\(work)/partial"
    try CLIHarness.succeed(["run", manifest, "--run-dir", partialRun, "--progress", "none", "--max-tiles", "4"])
    try CLIHarness.succeed(["assemble", partialRun, "--output", "\(work)/partial.npy", "--allow-partial", "--progress", "none"])
    for format in [3, 2] {
      let zarr = "\(work)/partial-v\(format).zarr"
      let result = try CLIHarness.succeed(["assemble", partialRun, "--output", zarr, "--zarr-format", "\(format)", "--allow-partial", "--progress", "none"])
      XCTAssertTrue(result.stdout.contains("6 missing tiles (absent chunks, read as NaN)"), result.stdout)
      cases.append(["npy": "\(work)/partial.npy", "zarr": zarr, "format": format, "precision": "float32", "mask": zarr + ".missing.json"])
    }
    // A sub-matrix of samples and classes, re-chunked.
    let sub = ["--samples", "5:28,12:33", "--classes", "3,1,8"]
    try CLIHarness.succeed(["assemble", "\(work)/run-float64", "--output", "\(work)/sub.npy", "--progress", "none"] + sub)
    try CLIHarness.succeed(["assemble", "\(work)/run-float64", "--output", "\(work)/sub.zarr", "--chunk", "24", "--progress", "none"] + sub)
    cases.append(["npy": "\(work)/sub.npy", "zarr": "\(work)/sub.zarr", "format": 3, "precision": "float64"])

    // A cross run (manifest columns): K(33 digits, first 17 digits) [330, 170], complete and partial.
    var crossObject = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifest))) as! [String: Any]
    crossObject["name"] = "cross"
    crossObject["columns"] = ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 17]
    let crossManifest = try CLIHarness.writeManifest(crossObject, in: work, name: "cross")
    try CLIHarness.succeed(["run", crossManifest, "--run-dir", "\(work)/cross", "--progress", "none"])
    try CLIHarness.succeed(["assemble", "\(work)/cross", "--output", "\(work)/cross.npy", "--progress", "none"])
    for format in [3, 2] {
      let zarr = "\(work)/cross-v\(format).zarr"
      let result = try CLIHarness.succeed(["assemble", "\(work)/cross", "--output", zarr, "--zarr-format", "\(format)", "--progress", "none"])
      // 4 × 2 tiles; the full-size ones, (0, 0), (1, 0), (2, 0), are their stored frames.
      XCTAssertTrue(result.stdout.contains("5 encoded, 3 copied, 0 linked, 0 absent"), result.stdout)
      cases.append(["npy": "\(work)/cross.npy", "zarr": zarr, "format": format, "precision": "float32"])
    }
    try CLIHarness.succeed(["run", crossManifest, "--run-dir", "\(work)/cross-partial", "--progress", "none", "--max-tiles", "3"])
    try CLIHarness.succeed(["assemble", "\(work)/cross-partial", "--output", "\(work)/cross-partial.npy", "--allow-partial", "--progress", "none"])
    try CLIHarness.succeed(["assemble", "\(work)/cross-partial", "--output", "\(work)/cross-partial.zarr", "--allow-partial", "--progress", "none"])
    cases.append(["npy": "\(work)/cross-partial.npy", "zarr": "\(work)/cross-partial.zarr", "format": 3, "precision": "float32",
                  "mask": "\(work)/cross-partial.zarr.missing.json"])

    let check = try PythonEnvironment.runChecker(Self.checker, cases: cases, in: work)
    XCTAssertEqual(check.status, 0, check.output)
    XCTAssertTrue(check.output.contains("checked \(cases.count) arrays"), check.output)
    if PythonEnvironment.hasTensorstore {
      XCTAssertTrue(check.output.contains("tensorstore: read \(cases.count)"), check.output)
    }
    print(check.output)
  }
}
