import Foundation
import XCTest
import Datasets

@testable import Checkpoint

/// `ntk.kernel`: the manifest field (absent = full, hashing exactly as before), the identity in
/// the journal header (absent = full), and the tile plans of the variants.
final class KernelVariantPlanTests: XCTestCase {
  let models: Set<String> = ["lenet"]
  let base = #"{"name": "k", "dataset": {"name": "npy", "path": "x.npy"}, "model": {"name": "lenet"}, "ntk": {"tileSamples": 4%@}}"#

  func parse(_ kernel: String) throws -> Manifest {
    try Manifest.parse(Array(base.replacingOccurrences(of: "%@", with: kernel).utf8), file: "m.json", knownModels: models, knownDatasets: DatasetKind.manifestNames)
  }

  func testManifestFieldDefaultsToFullAndHashesAsBefore() throws {
    let absent = try parse("")
    let full = try parse(#", "kernel": "full""#)
    XCTAssertEqual(absent.ntk.kernel, .full)
    XCTAssertEqual(absent.canonicalHash, full.canonicalHash)
    // The canonical JSON of a manifest without the field is exactly main's (no "kernel" key).
    let canonical = String(decoding: absent.canonicalJSON(), as: UTF8.self)
    XCTAssertEqual(canonical, #"{"dataset":{"name":"npy","path":"x.npy"},"model":{"name":"lenet","seed":0,"width":64},"name":"k","ntk":{"normalization":"sqrt-params","precision":"float32","tileSamples":4}}"#)
    for kernel in KernelVariant.allCases where kernel != .full {
      let manifest = try parse(#", "kernel": "\#(kernel.rawValue)""#)
      XCTAssertEqual(manifest.ntk.kernel, kernel)
      XCTAssertNotEqual(manifest.canonicalHash, absent.canonicalHash, kernel.rawValue)
      XCTAssertTrue(String(decoding: manifest.canonicalJSON(), as: UTF8.self).contains(#""kernel":"\#(kernel.rawValue)""#))
      // RUN/manifest.json round-trips.
      XCTAssertEqual(try JSONDecoder().decode(Manifest.self, from: Data(manifest.prettyJSON())).ntk.kernel, kernel)
    }
    XCTAssertThrowsError(try parse(#", "kernel": "x""#)) { error in
      XCTAssertEqual((error as? CheckpointError)?.code, .badInput)
      XCTAssertEqual("\(error)", #"m.json: ntk.kernel: expected full or trace or pseudo or diagonal, found "x""#)
    }
  }

  func testIdentityEncodesTheKernelOnlyWhenNotFull() throws {
    let full = RunIdentity(manifestHash: testHash("m"), weightsHash: testHash("w"), inputDataHash: testHash("d"),
                           sampleCount: 10, tileSamples: 4, precision: .float32, normalization: .sqrtParams)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let fullJSON = String(decoding: try encoder.encode(full), as: UTF8.self)
    XCTAssertFalse(fullJSON.contains("kernel"), fullJSON)
    XCTAssertEqual(try JSONDecoder().decode(RunIdentity.self, from: Data(fullJSON.utf8)), full)
    var pseudo = full
    pseudo.kernel = .pseudo
    let pseudoJSON = try encoder.encode(pseudo)
    XCTAssertTrue(String(decoding: pseudoJSON, as: UTF8.self).contains(#""kernel":"pseudo""#))
    XCTAssertEqual(try JSONDecoder().decode(RunIdentity.self, from: pseudoJSON), pseudo)
    XCTAssertEqual(pseudo.differences(from: full), ["kernel (run has full, now pseudo)"])
  }

  func testTracePseudoAndDiagonalPlans() throws {
    // 10 samples in blocks of 4: 4, 4, 2.
    for kernel in [KernelVariant.trace, .pseudo] {
      let plan = try TilePlan(sampleCount: 10, tileSamples: 4, precision: .float64, kernel: kernel)
      XCTAssertEqual(plan.tiles.count, 6)
      XCTAssertEqual(plan.valuesPerSample, 1)
      XCTAssertEqual(plan.outputsPerSample, 10)
      XCTAssertEqual(plan.dimension, 10)
      XCTAssertEqual(plan.tiles.map(\.rawByteCount), [16, 16, 8, 16, 8, 4].map { $0 * 8 })
      XCTAssertEqual(plan.samplePairs, 55)
      XCTAssertEqual(plan.tiles.reduce(0) { $0 + $1.samplePairs }, 55)
    }
    let diagonal = try TilePlan(sampleCount: 10, tileSamples: 4, precision: .float32, kernel: .diagonal)
    XCTAssertEqual(diagonal.tiles.map { [$0.index, $0.rowBlock, $0.columnBlock] }, [[0, 0, 0], [1, 1, 1], [2, 2, 2]])
    XCTAssertEqual(diagonal.tiles.map(\.rawByteCount), [400 * 4, 400 * 4, 200 * 4])
    XCTAssertEqual(diagonal.index(rowBlock: 1, columnBlock: 1), 1)
    XCTAssertNil(diagonal.index(rowBlock: 0, columnBlock: 1))
    XCTAssertEqual(diagonal.samplePairs, 10)
    XCTAssertEqual(diagonal.tiles.reduce(0) { $0 + $1.samplePairs }, 10)
    // The full plan is unchanged.
    let full = try TilePlan(sampleCount: 10, tileSamples: 4, precision: .float32)
    XCTAssertEqual(full.tiles.count, 6)
    XCTAssertEqual(full.tiles[0].rawByteCount, 40 * 40 * 4)
  }

  /// Journal records are checked against the variant's plan (position, size).
  func testRecordChecksFollowTheVariantsPlan() throws {
    var identity = RunIdentity(manifestHash: testHash("m"), weightsHash: testHash("w"), inputDataHash: testHash("d"),
                               sampleCount: 10, tileSamples: 4, precision: .float32, normalization: .none, kernel: .diagonal)
    XCTAssertEqual(identity.recordBounds?.tileCount, 3)
    XCTAssertEqual(identity.recordBounds?.largestTileBytes, 1600)
    func record(_ index: Int, _ I: Int, _ J: Int, _ bytes: Int) -> TileRecord {
      TileRecord(index: index, rowBlock: I, columnBlock: J, object: testHash("o"), rawByteCount: bytes, storedByteCount: 10, computeSeconds: 1)
    }
    XCTAssertNil(record(2, 2, 2, 800).planProblem(identity))
    XCTAssertNil(record(2, 2, 2, 800).planSizeProblem(identity))
    XCTAssertNotNil(record(1, 0, 1, 1600).planProblem(identity))
    XCTAssertNotNil(record(2, 2, 2, 1600).planSizeProblem(identity))
    identity.kernel = .pseudo
    XCTAssertEqual(identity.recordBounds?.tileCount, 6)
    XCTAssertEqual(identity.recordBounds?.largestTileBytes, 64)
    XCTAssertNil(record(4, 1, 2, 32).planSizeProblem(identity))
  }
}
