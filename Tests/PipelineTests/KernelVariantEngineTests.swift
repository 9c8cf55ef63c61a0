import Checkpoint
import Engine
import XCTest

@testable import Pipeline

/// The seam between Checkpoint's `KernelVariant` (the bytes a run stores) and Engine's
/// `NTKVariant` (what `TileSource` returns): the same names and the same tile sizes (Checkpoint
/// cannot see Engine, so each module keeps its own formula and this test holds them together).
final class KernelVariantEngineTests: XCTestCase {
  func testEveryKernelMapsToTheEngineVariantOfItsNameAndTileSize() {
    XCTAssertEqual(KernelVariant.allCases.map(\.engineVariant), NTKVariant.allCases)
    for kernel in KernelVariant.allCases {
      XCTAssertEqual(kernel.engineVariant.rawValue, kernel.rawValue)
      for (nI, nJ) in [(1, 1), (3, 7), (64, 64), (5, 2)] where kernel != .diagonal || nI == nJ {
        for scalarBytes in [4, 8] {
          XCTAssertEqual(kernel.tileByteCount(rows: nI, columns: nJ, outputs: 10, scalarBytes: scalarBytes),
                         kernel.engineVariant.tileScalarCount(rows: nI, columns: nJ, outputs: 10) * scalarBytes,
                         "\(kernel) \(nI) × \(nJ)")
        }
      }
    }
  }
}
