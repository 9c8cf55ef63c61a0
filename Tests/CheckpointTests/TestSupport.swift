import Foundation
@testable import Checkpoint
import Storage
import Engine
import TestSupport

/// Reads a whole file.
func readBytes(_ path: String) throws -> [UInt8] {
  try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Writes a whole file (not durably; for test setup only).
func writeBytes(_ bytes: [UInt8], _ path: String) throws {
  try Data(bytes).write(to: URL(fileURLWithPath: path))
}

extension Journal {
  /// Segment numbers present, ascending (a number appears once per segment: shards may share one).
  func segmentNumbers() throws -> [Int] { try segments().map(\.number) }
}

/// A hash of a label, for test identities.
func testHash(_ label: String) -> ContentHash { ContentHash.sha256(Array(label.utf8)) }

/// The synthetic eNTK G = s·X Xᵀ of a random X `[n·m, p]`, and a tile computer for it.
///
/// Row r of X plays the role of the Jacobian row of (sample r / m, output r % m).
struct SyntheticKernel {
  let n: Int
  let m: Int
  let p: Int
  let x: [Double]
  let scale: Double

  init(n: Int, m: Int = 10, p: Int = 7, seed: UInt64, magnitude: Double = 1, scale: Double = 1) {
    var generator = SplitMix64(seed: seed)
    self.n = n
    self.m = m
    self.p = p
    self.scale = scale
    x = (0..<(n * m * p)).map { _ in Double.random(in: -magnitude...magnitude, using: &generator) }
  }

  /// G[r, c] = s·Σ_k X[r, k]·X[c, k] (the same summation order for (r, c) and (c, r)).
  func value(_ r: Int, _ c: Int) -> Double {
    var sum = 0.0
    for k in 0..<p { sum += x[r * p + k] * x[c * p + k] }
    return scale * sum
  }

  /// The dense matrix `[n·m, n·m]`, row-major.
  func dense() -> [Double] {
    let d = n * m
    var g = [Double](repeating: 0, count: d * d)
    for r in 0..<d { for c in 0..<d { g[r * d + c] = value(r, c) } }
    return g
  }

  /// The raw bytes of `tile` in `precision`.
  func tileBytes(_ tile: Tile, precision: TilePrecision) -> [UInt8] {
    var values: [Double] = []
    for r in (tile.rows.lowerBound * m)..<(tile.rows.upperBound * m) {
      for c in (tile.columns.lowerBound * m)..<(tile.columns.upperBound * m) { values.append(value(r, c)) }
    }
    switch precision {
    case .float64: return values.withUnsafeBytes { Array($0) }
    case .float32: return values.map { Float($0) }.withUnsafeBytes { Array($0) }
    }
  }
}
