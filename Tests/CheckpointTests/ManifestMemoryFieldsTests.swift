import XCTest
import Datasets
@testable import Checkpoint

/// `ntk.tileSamples: "auto"` and `ntk.memoryBudget`: parsed, validated, and without effect on
/// the canonical JSON of manifests that do not use them.
final class ManifestMemoryFieldsTests: XCTestCase {
  private func parse(_ ntk: String) throws -> Manifest {
    let text = #"{"name": "d", "dataset": {"name": "npy", "path": "x.npy"}, "model": {"name": "lenet"}, "ntk": "# + ntk + "}"
    return try Manifest.parse(Array(text.utf8), file: "m.json", knownModels: ["lenet"], knownDatasets: DatasetKind.manifestNames)
  }

  func testAutoAndBytes() throws {
    let auto = try parse(#"{"tileSamples": "auto", "memoryBudget": "auto"}"#)
    XCTAssertNil(auto.ntk.tileSamples)
    XCTAssertNil(auto.ntk.memoryBudget)
    let fixed = try parse(#"{"tileSamples": 7, "memoryBudget": 4294967296}"#)
    XCTAssertEqual(fixed.ntk.tileSamples, 7)
    XCTAssertEqual(fixed.ntk.memoryBudget, 4_294_967_296)
    XCTAssertThrowsError(try parse(#"{"memoryBudget": "lots"}"#)) { error in
      XCTAssertEqual("\(error)".contains(#"m.json: ntk.memoryBudget: expected a positive integer number of bytes or "auto", found "lots""#), true, "\(error)")
    }
    XCTAssertThrowsError(try parse(#"{"tileSamples": "big"}"#)) { error in
      XCTAssertTrue("\(error)".contains("ntk.tileSamples: expected a positive integer up to 100000"), "\(error)")
    }
  }

  /// The canonical JSON of an integer-tileSamples manifest is what it was before these fields
  /// existed (so run directories keep their manifest hash), and the budget never enters it.
  func testCanonicalJSONIgnoresTheBudgetAndKeepsItsFormer() throws {
    let plain = try parse(#"{"tileSamples": 100}"#)
    let canonical = String(decoding: plain.canonicalJSON(), as: UTF8.self)
    XCTAssertTrue(canonical.hasSuffix(#""ntk":{"normalization":"sqrt-params","precision":"float32","tileSamples":100}}"#), canonical)
    XCTAssertEqual(try parse(#"{"tileSamples": 100, "memoryBudget": 1000000}"#).canonicalHash, plain.canonicalHash)
    XCTAssertNotEqual(try parse(#"{"tileSamples": "auto"}"#).canonicalHash, plain.canonicalHash)
    // The budget is kept in RUN/manifest.json (pretty JSON) and decodes back.
    let pretty = try parse(#"{"tileSamples": "auto", "memoryBudget": 1000000}"#).prettyJSON()
    let decoded = try JSONDecoder().decode(Manifest.self, from: Data(pretty))
    XCTAssertNil(decoded.ntk.tileSamples)
    XCTAssertEqual(decoded.ntk.memoryBudget, 1_000_000)
  }
}
