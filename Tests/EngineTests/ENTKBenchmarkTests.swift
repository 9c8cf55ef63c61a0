import Foundation
import XCTest

@testable import Engine

/// The tiled eNTK of LeNet over a sample range: row-block Jacobians computed once and reused,
/// upper-triangle tiles, diagonal tiles by SYRK.
///
/// By default 40 samples in tiles of 10 (checked against one 40-sample diagonal tile). With
/// `NTKBATCH_BENCHMARK=1` in the environment it times the target configuration of issue #2:
/// 1,000 samples in 100-sample tiles (55 tiles), float32 and float64 (run in release:
/// `swift test -c release -Xswiftc -enable-testing --filter ENTKBenchmarkTests`).
final class ENTKBenchmarkTests: XCTestCase {
  func run<T: BLASScalar>(_: T.Type, samples: Int, tileSamples: Int) throws -> (seconds: Double, tiles: [[T]]) {
    var model = try ModelZoo.make(name: "lenet", scalar: T.self)
    model.initialize(seed: 1)
    var random = TestRandom(seed: 2)
    let inputs = random.tensor([samples, 3, 32, 32]).converted(to: T.self)
    let start = Date()
    let size = inputs.sampleSize
    let blocks = stride(from: 0, to: samples, by: tileSamples).map { $0..<min($0 + tileSamples, samples) }
    let jacobians = try blocks.map { block in
      try model.jacobian(
        inputs: Tensor(shape: [block.count, 3, 32, 32],
                       storage: Array(inputs.storage[(block.lowerBound * size)..<(block.upperBound * size)])))
    }
    var tiles: [[T]] = []
    for i in blocks.indices {
      for j in i..<blocks.count {
        tiles.append(TileKernel.tile(rows: jacobians[i], columns: jacobians[j], isDiagonal: i == j, scale: 1))
      }
    }
    return (Date().timeIntervalSince(start), tiles)
  }

  func testTiledMatchesSingleTile() throws {
    let (_, tiled) = try run(Double.self, samples: 40, tileSamples: 10)
    XCTAssertEqual(tiled.count, 10)
    let (_, single) = try run(Double.self, samples: 40, tileSamples: 40)
    let full = single[0]
    // Tile (i, j) of 10-sample blocks = rows 100i..<100i+100, columns 100j..<100j+100 of the full matrix.
    var k = 0
    for i in 0..<4 {
      for j in i..<4 {
        let expected = (0..<100).flatMap { r in (0..<100).map { c in full[(100 * i + r) * 400 + 100 * j + c] } }
        XCTAssertLessThan(relativeFrobeniusError(tiled[k], expected), 1e-13, "tile (\(i), \(j))")
        k += 1
      }
    }
  }

  func testLeNetThousandSamplesTiming() throws {
    guard ProcessInfo.processInfo.environment["NTKBATCH_BENCHMARK"] == "1" else { return }
    for precision in ["float32", "float64"] {
      let seconds = precision == "float32"
        ? try run(Float.self, samples: 1000, tileSamples: 100).seconds
        : try run(Double.self, samples: 1000, tileSamples: 100).seconds
      print("lenet eNTK, 1,000 samples, 55 tiles of 100 samples, \(precision): \(seconds) s")
      XCTAssertLessThan(seconds, 600)
    }
  }
}
