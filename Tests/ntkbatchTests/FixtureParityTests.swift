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
  func testResNet9Float64() throws { try checkFixture("resnet9-w8", precision: "float64") }
  func testResNet9Float32() throws { try checkFixture("resnet9-w8", precision: "float32") }
  func testResNet18Float64() throws { try checkFixture("resnet18-w4", precision: "float64") }
  func testResNet18Float32() throws { try checkFixture("resnet18-w4", precision: "float32") }
  func testResNet50Float64() throws { try checkFixture("resnet50-w2", precision: "float64") }
  func testResNet50Float32() throws { try checkFixture("resnet50-w2", precision: "float32") }
  // float32_stable is false for these three (ReLU inputs within float32 rounding of zero): float64 only.
  func testWideResNet28x2Float64() throws { try checkFixture("wrn-28-2-w0", precision: "float64") }
  func testMobileNetFloat64() throws { try checkFixture("mobilenet-w0", precision: "float64") }
  func testMobileNetV2Float64() throws { try checkFixture("mobilenetv2-w0", precision: "float64") }

  /// Every model fixture is exercised above; a new fixture folder must be added here too.
  func testEveryModelFixtureIsCovered() throws {
    let folders = try FileManager.default.contentsOfDirectory(atPath: CLIHarness.fixtures)
      .filter { FileManager.default.fileExists(atPath: "\(CLIHarness.fixtures)/\($0)/meta.json") }
    XCTAssertEqual(Set(folders), ["logistic-w0", "twolayer-w0", "lenet-w0", "resnet9-w8", "resnet18-w4", "resnet50-w2",
                                  "wrn-28-2-w0", "mobilenet-w0", "mobilenetv2-w0"])
  }

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
      // Only the ResNets have a width (meta width > 0); the others refuse one.
      "model": ["name": meta["model"] as! String, "weights": "\(folder)/weights.safetensors"]
        .merging((meta["width"] as! Int) > 0 ? ["width": meta["width"] as! Int] : [:]) { a, _ in a },
      "ntk": ["precision": precision, "normalization": "none", "tileSamples": 2],
    ], in: work)
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/run", "--progress", "none"], file: file, line: line)
    try CLIHarness.succeed(["assemble", "\(work)/run", "--dtype", "float64", "--output", "\(work)/entk.npy"], file: file, line: line)

    let tolerance = precision == "float64" ? 1e-10 : 1e-4
    if precision == "float32" {
      XCTAssertEqual(meta["float32_stable"] as? Bool, true, "\(name) is not float32-stable", file: file, line: line)
    }
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
