import Foundation
import XCTest
@testable import Checkpoint
import Storage
import TestSupport

/// Stored tiles holding NaN/±Inf (journaled by an older version, or by a tile computer without
/// the check) are named by `verify` and dropped by `repair`; a training record with a non-finite
/// loss is never committed; journal records and plans with impossible numbers are damage, not traps.
final class NonFiniteTileTests: XCTestCase {
  private var dir: TemporaryDirectory!

  override func setUpWithError() throws { dir = try TemporaryDirectory("nonfinite") }
  override func tearDown() { dir.remove() }

  func testVerifyNamesANonFiniteStoredTileAndRepairDropsIt() throws {
    let kernel = SyntheticKernel(n: 9, p: 3, seed: 4)
    let identity = RunIdentity(manifestHash: testHash("m"), weightsHash: testHash("w"), inputDataHash: testHash("d"),
                               sampleCount: 9, tileSamples: 3, precision: .float32, normalization: .none)
    let run = RunDirectory(path: dir.path + "/run")
    let session = try RunSession.open(run: run, identity: identity, manifestJSON: Array("{}".utf8))
    let plan = try identity.plan()
    _ = try TileRunner(session: session, plan: plan).run(compute: { tile in
      var bytes = kernel.tileBytes(tile, precision: .float32)
      if tile.index == 4 {  // tile (1, 2): value [row 2, column 7] becomes NaN, and [5, 0] -Inf
        bytes.withUnsafeMutableBytes { raw in
          let values = raw.bindMemory(to: Float.self)
          values[2 * 30 + 7] = .nan
          values[5 * 30] = -.infinity
        }
      }
      return bytes
    })
    session.close()

    let report = try RunVerifier.verify(run: run)
    XCTAssertEqual(report.tilesChecked, 6)
    XCTAssertEqual(report.problems.count, 1)
    let problem = try XCTUnwrap(report.problems.first)
    XCTAssertEqual([problem.index, problem.rowBlock, problem.columnBlock], [4, 1, 2])
    XCTAssertTrue(problem.nonFinite)
    XCTAssertFalse(problem.missing)
    XCTAssertTrue(problem.reason.contains("2 non-finite values, the first nan at row 2, column 7"), problem.reason)
    XCTAssertFalse(report.isIntact)

    let repaired = try RunRepair.repair(run: run)
    XCTAssertEqual(repaired.droppedTiles.map(\.index), [4])
    XCTAssertEqual(repaired.removedOrphans, [problem.object])
    let after = try RunVerifier.verify(run: run)
    XCTAssertTrue(after.isIntact)
    XCTAssertEqual(after.tilesNotYetComputed, 1)
  }

  func testANonFiniteLossIsNeverCommittedAndTheLastGoodEpochStays() throws {
    let run = RunDirectory(path: dir.path + "/run")
    try run.createLayout()
    let store = TrainingCheckpointStore(run: run)
    let good = TrainingRecord(epoch: 1, batchesSeen: 10, generatorState: 99, loss: 0.5, accuracy: 0.8, finished: false,
                              checkpoint: testHash("x"), manifestHash: testHash("m"), initialWeightsHash: testHash("w"),
                              inputDataHash: testHash("d"))
    let committed = try store.commit(checkpoint: Array("epoch 1".utf8), record: good)
    for loss in [Double.nan, .infinity] {
      var bad = good
      bad.epoch = 2
      bad.loss = loss
      XCTAssertThrowsError(try store.commit(checkpoint: Array("epoch 2".utf8), record: bad)) { error in
        XCTAssertEqual((error as? CheckpointError)?.code, .failure)
        XCTAssertTrue("\(error)".contains("epoch 2"), "\(error)")
        XCTAssertTrue("\(error)".contains("last good checkpoint is kept"), "\(error)")
      }
      let latest = try XCTUnwrap(try store.latest())
      XCTAssertEqual(latest.record, committed)
      XCTAssertEqual(latest.checkpoint, Array("epoch 1".utf8))
    }
  }

  /// A header whose numbers overflow the plan's arithmetic, and tile records with negative,
  /// huge or non-finite fields (valid checksums): each is one line of damage naming the segment.
  func testImpossibleNumbersInTheJournalAreDamage() throws {
    let journal = Journal(directory: dir.path + "/journal")
    let sane = RunIdentity(manifestHash: testHash("m"), weightsHash: testHash("w"), inputDataHash: testHash("d"),
                           sampleCount: 25, tileSamples: 10, precision: .float32, normalization: .none)
    var huge = sane
    huge.sampleCount = Int.max
    huge.tileSamples = Int.max
    XCTAssertThrowsError(try TilePlan(sampleCount: Int.max, tileSamples: Int.max, precision: .float64))
    XCTAssertThrowsError(try TilePlan(sampleCount: 3_037_000_500, tileSamples: 1_000_000, precision: .float64, outputsPerSample: 1))
    let writer = try journal.beginSession(JournalHeader(identity: huge, session: 1, host: "h", pid: 1, startTime: "t"))
    writer.close()
    XCTAssertThrowsError(try journal.replay()) { error in
      XCTAssertEqual((error as? CheckpointError)?.code, .damaged)
      XCTAssertTrue("\(error)".contains("segment-000001.log: header at byte 0: impossible identity"), "\(error)")
    }
    try FileManager.default.removeItem(atPath: journal.directory)

    let plan = try sane.plan()
    let tile = plan.tiles[1]
    let bad: [(TileRecord, String)] = [
      (TileRecord(index: -1, rowBlock: 0, columnBlock: 1, object: testHash("t"), rawByteCount: tile.rawByteCount, storedByteCount: 10, computeSeconds: 1), "index"),
      (TileRecord(index: 99, rowBlock: 0, columnBlock: 1, object: testHash("t"), rawByteCount: tile.rawByteCount, storedByteCount: 10, computeSeconds: 1), "index"),
      (TileRecord(index: 1, rowBlock: 1, columnBlock: 0, object: testHash("t"), rawByteCount: tile.rawByteCount, storedByteCount: 10, computeSeconds: 1), "blocks"),
      (TileRecord(index: 1, rowBlock: 0, columnBlock: 1, object: testHash("t"), rawByteCount: -4, storedByteCount: 10, computeSeconds: 1), "rawByteCount"),
      (TileRecord(index: 1, rowBlock: 0, columnBlock: 1, object: testHash("t"), rawByteCount: Int.max, storedByteCount: 10, computeSeconds: 1), "rawByteCount"),
      (TileRecord(index: 1, rowBlock: 0, columnBlock: 1, object: testHash("t"), rawByteCount: tile.rawByteCount, storedByteCount: Int.max, computeSeconds: 1), "storedByteCount"),
      (TileRecord(index: 1, rowBlock: 0, columnBlock: 1, object: testHash("t"), rawByteCount: tile.rawByteCount, storedByteCount: 10, computeSeconds: -1), "computeSeconds"),
    ]
    for (k, (record, field)) in bad.enumerated() {
      let directory = dir.path + "/journal-\(k)"
      let journal = Journal(directory: directory)
      let writer = try journal.beginSession(JournalHeader(identity: sane, session: 1, host: "h", pid: 1, startTime: "t"))
      try writer.append(record)
      writer.close()
      XCTAssertThrowsError(try journal.replay(), field) { error in
        XCTAssertEqual((error as? CheckpointError)?.code, .damaged)
        XCTAssertTrue("\(error)".contains("segment-000001.log: tile record at byte "), "\(error)")
        XCTAssertTrue("\(error)".contains("\(field): expected"), "\(error)")
      }
    }
  }
}
