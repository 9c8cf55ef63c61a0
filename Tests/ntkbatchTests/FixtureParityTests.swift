import Foundation
import Storage
import XCTest

/// `run` + `assemble` on an `npy` dataset with a fixture's weights reproduce PyTorch's float64
/// logits and unnormalized eNTK (`Tests/Fixtures/<model>-w<width>`, see its README).
final class FixtureParityTests: XCTestCase {
  func testLogisticFloat64() throws { try checkFixture("logistic-w0", precision: "float64") }
  func testLogisticFloat32() throws { try checkFixture("logistic-w0", precision: "float32") }
  func testTwoLayerFloat64() throws { try checkFixture("twolayer-w0", precision: "float64") }
  func testTwoLayerFloat32() throws { try checkFixture("twolayer-w0", precision: "float32") }
  func testLeNetFloat64() throws { try checkFixture("lenet-w0", precision: "float64") }
  func testLeNetFloat32() throws { try checkFixture("lenet-w0", precision: "float32") }

  /// Runs the fixture through the CLI with 2-sample tiles (so both a diagonal and an
  /// off-diagonal tile and a ragged edge are exercised) and compares against the references.
  func checkFixture(_ name: String, precision: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let folder = "\(CLIHarness.fixtures)/\(name)"
    let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/meta.json"))) as! [String: Any]
    let work = try CLIHarness.temporaryDirectory("fixture-\(name)")
    defer { try? FileManager.default.removeItem(atPath: work) }
    let manifest = try CLIHarness.writeManifest([
      "name": name,
      "dataset": ["name": "npy", "path": "\(folder)/inputs.npy"],
      "model": ["name": meta["model"] as! String, "width": max(1, meta["width"] as! Int), "weights": "\(folder)/weights.safetensors"],
      "ntk": ["precision": precision, "normalization": "none", "tileSamples": 2],
    ], in: work)
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/run", "--progress", "none"], file: file, line: line)
    try CLIHarness.succeed(["assemble", "\(work)/run", "--dtype", "float64", "--output", "\(work)/entk.npy"], file: file, line: line)

    let tolerance = precision == "float64" ? 1e-10 : 1e-4
    let entk = try NpyArray.read(path: "\(work)/entk.npy")
    let reference = try NpyArray.read(path: "\(folder)/ntk.npy")
    XCTAssertEqual(entk.shape, reference.shape, file: file, line: line)
    let entkError = relativeFrobeniusError(entk.doubles(), reference: reference.doubles())
    XCTAssertLessThan(entkError, tolerance, "\(name) \(precision) eNTK", file: file, line: line)

    let logits = try NpyArray.read(path: "\(work)/run/logits.npy")
    let referenceLogits = try NpyArray.read(path: "\(folder)/logits.npy")
    XCTAssertEqual(logits.shape, referenceLogits.shape, file: file, line: line)
    let logitsError = relativeFrobeniusError(logits.doubles(), reference: referenceLogits.doubles())
    XCTAssertLessThan(logitsError, precision == "float64" ? 1e-10 : 1e-4, "\(name) \(precision) logits", file: file, line: line)
  }
}

/// ‖a − r‖_F / ‖r‖_F.
func relativeFrobeniusError(_ a: [Double], reference r: [Double]) -> Double {
  precondition(a.count == r.count, "size mismatch \(a.count) vs \(r.count)")
  var diff = 0.0, norm = 0.0
  for i in 0..<r.count {
    diff += (a[i] - r[i]) * (a[i] - r[i])
    norm += r[i] * r[i]
  }
  return (diff / norm).squareRoot()
}
