import Checkpoint
import Datasets
import Engine
import Foundation
@testable import Pipeline
import Storage
import TestSupport
import XCTest

/// A reporter that draws nothing and counts what it is told.
final class CountingReporter: RunReporter {
  var detail: ReportDetail = .quiet
  var tilesReported = 0
  var tileStages = 0
  func tilesStarted() { tileStages += 1 }
  func tileFinished(index: Int, row: Int, column: Int, seconds: Double, state: RunProgress) { tilesReported += 1 }
  func tilesFinished() {}
  func trainingStarted(epochs: Int, resumedAt: Int) {}
  func batchFinished(epoch: Int, batch: Int, of total: Int) {}
  func epochFinished(_ summary: EpochSummary, seconds: Double) {}
  func trainingFinished() {}
}

/// Stop requests under the test's control (`requested` set before or during a run).
final class TestStop: StopRequests {
  let cancellation = TileCancellation()
  var requested = false
  var activities: [String] = []
  var isStopRequested: Bool { requested }
  func committing(_ body: () throws -> Void) throws { try body() }
  func finishing<R>(_ activity: String, _ body: () throws -> R) throws -> R {
    activities.append(activity)
    return try body()
  }
}

/// The values `run` writes, checked against the eNTK computed here from the engine's explicit
/// Jacobian: `K = s · J Jᵀ` with `J` `[n·10, P]` (float64) and `s = 1/√P` for
/// `normalization: sqrt-params`, `s = 1` for `none` (README, "What it computes").
final class RunPipelineValueTests: XCTestCase {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
  static let sampleCount = 6
  static let tileSamples = 4

  func makeManifest(_ normalization: KernelNormalization) -> Manifest {
    let root = Self.repository + "/data/mnist-sample"
    XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/train-images-idx3-ubyte.gz"), "\(root): the MNIST sample is missing")
    return Manifest(
      name: "values-\(normalization.rawValue)",
      dataset: .init(name: "mnist", root: root, subsample: Self.sampleCount),
      model: .init(name: "lenet", seed: 3),
      ntk: .init(precision: .float64, normalization: normalization, tileSamples: Self.tileSamples),
      baseDirectory: Self.repository)
  }

  /// Runs the pipeline in process; returns the run directory.
  func execute(_ manifest: Manifest, in directory: TemporaryDirectory, maxTiles: Int? = nil, stop: TestStop = TestStop(),
           reporter: CountingReporter = CountingReporter()) throws -> (RunDirectory, RunPipeline.Outcome) {
    let run = RunDirectory(path: directory.path + "/" + manifest.name)
    let pipeline = RunPipeline(manifest: manifest, run: run, reporter: reporter, maxTiles: maxTiles, stop: stop)
    return (run, try pipeline.execute(Double.self))
  }

  /// The reference eNTK `J Jᵀ` `[n·10, n·10]` (unnormalized) and P, from the same weights
  /// (lenet, seed 3) and inputs.
  func referenceKernel(_ manifest: Manifest) throws -> (kernel: [Double], parameters: Int) {
    var model = try ModelZoo.make(name: "lenet", width: 64, scalar: Double.self)
    model.initialize(seed: 3)
    let inputs = try DatasetLoader.load(manifest, scalar: Double.self, showProgress: false).inputs
    XCTAssertEqual(inputs.shape, [Self.sampleCount, 3, 32, 32])
    let jacobian = try model.jacobian(inputs: inputs, structured: false)
    let rows = jacobian.rowCount
    let p = jacobian.parameterCount
    XCTAssertEqual(rows, Self.sampleCount * 10)
    XCTAssertEqual(p, model.parameterCount)
    let j = jacobian.explicitRows()
    var kernel = [Double](repeating: 0, count: rows * rows)
    for a in 0..<rows {
      for b in a..<rows {
        var sum = 0.0
        for k in 0..<p { sum += j[a * p + k] * j[b * p + k] }
        kernel[a * rows + b] = sum
        kernel[b * rows + a] = sum
      }
    }
    return (kernel, p)
  }

  /// Every journaled tile's record and values (float64), in tile order.
  func tiles(of run: RunDirectory) throws -> [(record: TileRecord, values: [Double])] {
    try run.journal.replay().tiles.values.sorted { $0.index < $1.index }.map { record in
      let bytes = try run.objects.read(record.object, rawByteCount: record.rawByteCount)
      return (record, bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) })
    }
  }

  /// Largest |written − s·reference| over every entry of every tile, relative to the largest |s·reference|.
  func relativeError(_ tiles: [(record: TileRecord, values: [Double])], reference: [Double], scale: Double) -> Double {
    let n = Self.sampleCount
    let side = n * 10
    var worst = 0.0
    var largest = 0.0
    for (record, values) in tiles {
      let rows = (record.rowBlock * Self.tileSamples)..<min(n, (record.rowBlock + 1) * Self.tileSamples)
      let columns = (record.columnBlock * Self.tileSamples)..<min(n, (record.columnBlock + 1) * Self.tileSamples)
      let width = columns.count * 10
      XCTAssertEqual(values.count, rows.count * 10 * width, "tile \(record.index)")
      guard values.count == rows.count * 10 * width else { continue }
      for a in 0..<(rows.count * 10) {
        for b in 0..<width {
          let expected = scale * reference[(rows.lowerBound * 10 + a) * side + columns.lowerBound * 10 + b]
          worst = max(worst, abs(values[a * width + b] - expected))
          largest = max(largest, abs(expected))
        }
      }
    }
    XCTAssertGreaterThan(largest, 0)
    return worst / largest
  }

  func testSqrtParamsTilesAreJJTransposeOverRootP() throws {
    let directory = try TemporaryDirectory("pipeline-sqrt")
    defer { directory.remove() }
    let manifest = makeManifest(.sqrtParams)
    let reporter = CountingReporter()
    let (run, outcome) = try execute(manifest, in: directory, reporter: reporter)
    XCTAssertEqual(outcome, .complete)
    let written = try tiles(of: run)
    XCTAssertEqual(written.count, 3, "6 samples in tiles of 4: blocks {0…3}, {4, 5}; tiles (0,0), (0,1), (1,1)")
    XCTAssertEqual(Set(written.map { [$0.record.rowBlock, $0.record.columnBlock].sorted() }), [[0, 0], [0, 1], [1, 1]])
    XCTAssertEqual(reporter.tilesReported, 3)
    XCTAssertEqual(reporter.tileStages, 1)
    let (kernel, p) = try referenceKernel(manifest)
    XCTAssertGreaterThan(p, 10_000)
    let error = relativeError(written, reference: kernel, scale: 1 / Double(p).squareRoot())
    print("sqrt-params tiles vs J Jᵀ/√P (P = \(p)): max relative error \(error)")
    XCTAssertLessThanOrEqual(error, 1e-12)
    // The wrong scale is far off: the check can fail.
    XCTAssertGreaterThan(relativeError(written, reference: kernel, scale: 1), 0.5)
  }

  func testNoneTilesAreRootPTimesSqrtParamsTiles() throws {
    let directory = try TemporaryDirectory("pipeline-none")
    defer { directory.remove() }
    let (sqrtRun, _) = try execute(makeManifest(.sqrtParams), in: directory)
    let manifest = makeManifest(.none)
    let (noneRun, outcome) = try execute(manifest, in: directory)
    XCTAssertEqual(outcome, .complete)
    let scaled = try tiles(of: sqrtRun)
    let plain = try tiles(of: noneRun)
    let (kernel, p) = try referenceKernel(manifest)
    XCTAssertLessThanOrEqual(relativeError(plain, reference: kernel, scale: 1), 1e-12)
    // Tile by tile: none = √P · sqrt-params.
    XCTAssertEqual(plain.count, 3)
    let byBlocks = Dictionary(uniqueKeysWithValues: scaled.map { ([$0.record.rowBlock, $0.record.columnBlock], $0.values) })
    for (record, values) in plain {
      let other = try XCTUnwrap(byBlocks[[record.rowBlock, record.columnBlock]])
      let largest = values.map(abs).max() ?? 0
      let worst = zip(values, other).map { abs($0 - Double(p).squareRoot() * $1) }.max() ?? .infinity
      XCTAssertLessThanOrEqual(worst / largest, 1e-12, "tile \(record.index)")
    }
  }

  func testMaxTilesPausesAndAStopRequestStopsBetweenTiles() throws {
    let directory = try TemporaryDirectory("pipeline-stop")
    defer { directory.remove() }
    let manifest = makeManifest(.sqrtParams)
    let (run, paused) = try execute(manifest, in: directory, maxTiles: 1)
    XCTAssertEqual(paused, .paused)
    XCTAssertEqual(try run.journal.replay().tiles.count, 1)
    let stop = TestStop()
    stop.requested = true
    let (_, stopped) = try execute(manifest, in: directory, stop: stop)
    XCTAssertEqual(stopped, .stoppedBySignal)
    XCTAssertEqual(try run.journal.replay().tiles.count, 1, "a stop requested before the first tile computes none")
    let (_, resumed) = try execute(manifest, in: directory)
    XCTAssertEqual(resumed, .complete)
    XCTAssertEqual(try run.journal.replay().tiles.count, 3)
    XCTAssertTrue(stop.activities.isEmpty, "no training, no activity other than tiles")
  }

  func testShardedTrainingIsBadInputNamingTheField() throws {
    var manifest = makeManifest(.sqrtParams)
    manifest.model.train = Manifest.Training(lr: 0.01, batchSize: 2, epochs: 1, seed: 0)
    XCTAssertThrowsError(try RunPipeline.refuseTrainingWithShards(manifest, path: "m.json")) { error in
      let message = (error as? BadInput)?.message ?? ""
      XCTAssertTrue(message.hasPrefix("m.json: model.train: a sharded run computes the eNTK of fixed weights"), message)
    }
  }
}
