import XCTest
@testable import Checkpoint
import Storage
import TestSupport

/// A tile whose object cannot be written (the disk fails part way through the frame) is neither
/// stored nor journaled, and the next session computes it again.
final class TileRunnerWriteFailureTests: XCTestCase {
  /// A synthetic 24-sample kernel in tiles of 12, float64: 2 blocks, 3 tiles.
  private func fixture(seed: UInt64) throws -> (SyntheticKernel, RunIdentity, TilePlan) {
    let kernel = SyntheticKernel(n: 24, p: 7, seed: seed)
    let id = RunIdentity(manifestHash: testHash("manifest"), weightsHash: testHash("weights"), inputDataHash: testHash("data"),
                         sampleCount: kernel.n, tileSamples: 12, precision: .float64, normalization: .none, outputsPerSample: kernel.m)
    return (kernel, id, try id.plan())
  }

  func testAWriteFailureMidObjectLeavesNoObjectNoRecordAndTheNextSessionComputesTheTile() throws {
    let dir = try TemporaryDirectory("runner-write-failure")
    defer { dir.remove() }
    let (kernel, id, plan) = try fixture(seed: 4)  // 2 blocks, 3 tiles of up to 120 × 120 float64 (115,200 bytes)
    XCTAssertEqual(plan.tiles.count, 3)
    let run = RunDirectory(path: dir.path + "/run")
    var computed: [Int] = []
    func session(stopAfter: Int? = nil) throws -> TileRunner.Outcome {
      let opened = try RunSession.open(run: run, identity: id, manifestJSON: Array("{}\n".utf8))
      defer { opened.close() }
      let runner = try TileRunner(session: opened, plan: plan, compressionWorkers: 2)
      var thisSession = 0
      return try runner.run(compute: { tile in
        computed.append(tile.index)
        thisSession += 1
        return kernel.tileBytes(tile, precision: .float64)
      }, shouldStop: { stopAfter.map { thisSession >= $0 } ?? false })
    }
    guard case .stopped = try session(stopAfter: 1) else { return XCTFail("the first session should stop after one tile") }
    let first = ContentHash.sha256(kernel.tileBytes(plan.tiles[0], precision: .float64))
    XCTAssertEqual(try run.objects.list(), [first])

    // Tile 1's frame (about 100 KB) meets a 16 KiB file size limit: write(2) fails with EFBIG.
    var caught: Error?
    try FileSizeLimit.with(bytes: 16 << 10) {
      do { _ = try session() } catch { caught = error }
    }
    let error = try XCTUnwrap(caught as? CheckpointError, "the session did not fail: \(String(describing: caught))")
    XCTAssertEqual(error.code, .failure)
    XCTAssertTrue("\(error)".contains(".object.tmp-") && "\(error)".contains("(errno 27)"), "\(error)")
    XCTAssertEqual(computed, [0, 1])
    XCTAssertEqual(try Journal(directory: run.journalDirectory).replay().tiles.keys.sorted(), [0], "a record for a tile without its object")
    XCTAssertEqual(try run.objects.list(), [first])
    XCTAssertEqual(try run.objects.temporaryFiles(), [])

    guard case .completed = try session() else { return XCTFail("the third session should complete") }
    XCTAssertEqual(computed, [0, 1, 1, 2])
    let hashes = plan.tiles.map { ContentHash.sha256(kernel.tileBytes($0, precision: .float64)) }
    XCTAssertEqual(try Journal(directory: run.journalDirectory).replay().tiles.mapValues(\.object), [0: hashes[0], 1: hashes[1], 2: hashes[2]])
    XCTAssertEqual(try run.objects.list(), hashes.sorted())
    XCTAssertTrue(try RunVerifier.verify(run: run).isIntact)
  }

  /// A stop request while a tile's object is written (`abandonStoring`) abandons that tile: the
  /// session stops with nothing of it stored or journaled, and the next session computes it.
  func testAStopWhileStoringAbandonsTheTileAndTheNextSessionComputesIt() throws {
    let dir = try TemporaryDirectory("runner-abandon")
    defer { dir.remove() }
    let (kernel, id, plan) = try fixture(seed: 5)
    let run = RunDirectory(path: dir.path + "/run")
    var computed: [Int] = []
    func session(stopWhileStoring: Bool) throws -> TileRunner.Outcome {
      let opened = try RunSession.open(run: run, identity: id, manifestJSON: Array("{}\n".utf8))
      defer { opened.close() }
      let runner = try TileRunner(session: opened, plan: plan, compressionWorkers: 2)
      return try runner.run(compute: { tile in
        computed.append(tile.index)
        return kernel.tileBytes(tile, precision: .float64)
      }, abandonStoring: { stopWhileStoring })
    }
    guard case .stopped(let state) = try session(stopWhileStoring: true) else { return XCTFail("the session should stop") }
    XCTAssertEqual(state.tilesDone, 0)
    XCTAssertEqual(computed, [0])
    XCTAssertEqual(try Journal(directory: run.journalDirectory).replay().tiles.count, 0)
    XCTAssertEqual(try run.objects.list(), [])
    XCTAssertEqual(try run.objects.temporaryFiles(), [])
    guard case .completed = try session(stopWhileStoring: false) else { return XCTFail("the next session should complete") }
    XCTAssertEqual(computed, [0, 0, 1, 2])
    XCTAssertTrue(try RunVerifier.verify(run: run).isIntact)
  }
}
