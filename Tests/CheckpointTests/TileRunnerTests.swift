import XCTest
@testable import Checkpoint
import Storage
import TestSupport

final class TileRunnerTests: XCTestCase {
  private var dir: TemporaryDirectory!

  override func setUpWithError() throws {
    dir = try TemporaryDirectory("runner")
  }

  override func tearDown() {
    dir.remove()
  }

  private func identity(_ kernel: SyntheticKernel, t: Int, precision: TilePrecision, weights: String = "weights",
                        normalization: KernelNormalization = .none) -> RunIdentity {
    RunIdentity(manifestHash: testHash("manifest"), weightsHash: testHash(weights), inputDataHash: testHash("data"),
                sampleCount: kernel.n, tileSamples: t, precision: precision, normalization: normalization, outputsPerSample: kernel.m)
  }

  /// Runs one session; stops before computing tile number `stopAfter + 1` of this session.
  /// Returns the outcome and the indices computed in this session.
  @discardableResult
  private func session(_ run: RunDirectory, _ kernel: SyntheticKernel, _ id: RunIdentity, stopAfter: Int? = nil,
                       computed: inout [Int: Int]) throws -> TileRunner.Outcome {
    let opened = try RunSession.open(run: run, identity: id, manifestJSON: Array("{}\n".utf8))
    defer { opened.close() }
    let plan = try id.plan()
    let runner = try TileRunner(session: opened, plan: plan)
    var thisSession = 0
    var local = computed
    defer { computed = local }
    return try runner.run(compute: { tile in
      local[tile.index, default: 0] += 1
      thisSession += 1
      return kernel.tileBytes(tile, precision: id.precision)
    }, shouldStop: { stopAfter.map { thisSession >= $0 } ?? false })
  }

  private func assembleBytes(_ run: RunDirectory, _ dtype: NpyDType, name: String) throws -> [UInt8] {
    let output = dir.path + "/" + name
    try TileAssembler.assemble(run: run, dtype: dtype, output: output)
    return try readBytes(output)
  }

  /// The matrix of an uninterrupted run of `kernel` (`DIR/reference`) assembled in `dtype`.
  private func referenceBytes(_ kernel: SyntheticKernel, _ id: RunIdentity, _ dtype: NpyDType) throws -> [UInt8] {
    var once: [Int: Int] = [:]
    let reference = RunDirectory(path: dir.path + "/reference")
    try session(reference, kernel, id, computed: &once)
    return try assembleBytes(reference, dtype, name: "reference.npy")
  }

  func testAssembledMatrixEqualsDenseAndIsSymmetric() throws {
    let kernel = SyntheticKernel(n: 23, p: 9, seed: 1)
    let dense = kernel.dense()
    let d = kernel.n * kernel.m
    for precision in TilePrecision.allCases {
      let run = RunDirectory(path: dir.path + "/run-\(precision)")
      var computed: [Int: Int] = [:]
      var reports: [RunProgress] = []
      let opened = try RunSession.open(run: run, identity: identity(kernel, t: 5, precision: precision), manifestJSON: Array("{}".utf8))
      let plan = try TilePlan(sampleCount: 23, tileSamples: 5, precision: precision)
      let outcome = try TileRunner(session: opened, plan: plan).run(compute: { tile in
        computed[tile.index, default: 0] += 1
        return kernel.tileBytes(tile, precision: precision)
      }, progress: { reports.append($0) })
      opened.close()
      guard case .completed(let final) = outcome else { return XCTFail("not completed") }
      XCTAssertEqual(final.tilesDone, 15)
      XCTAssertEqual(final.pairsDone, 23 * 24 / 2)
      XCTAssertEqual(final.pairsTotal, 23 * 24 / 2)
      XCTAssertEqual(reports.count, 16)
      XCTAssertEqual(reports.map(\.tilesDone), Array(0...15))
      XCTAssertEqual(computed.count, 15)
      XCTAssertTrue(computed.values.allSatisfy { $0 == 1 })
      for dtype in [NpyDType.float64, .float32, .float16] {
        let output = dir.path + "/g-\(precision)-\(dtype).npy"
        let report = try TileAssembler.assemble(run: run, dtype: dtype, output: output)
        XCTAssertEqual(report.dimension, d)
        let array = try NpyArray.read(path: output)
        XCTAssertEqual(array.shape, [d, d])
        XCTAssertEqual(array.dtype, dtype)
        let values = array.doubles()
        let stored: [Double] = precision == .float64 ? dense : dense.map { Double(Float($0)) }
        let expected: [Double]
        switch dtype {
        case .float16: expected = stored.map { Double(Float16($0)) }
        case .float32: expected = stored.map { Double(Float($0)) }
        default: expected = stored
        }
        XCTAssertEqual(values, expected, "\(precision) → \(dtype)")
        var symmetric = true
        for r in 0..<d { for c in 0..<r where values[r * d + c] != values[c * d + r] { symmetric = false } }
        XCTAssertTrue(symmetric)
      }
    }
  }

  func testInterruptedAndResumedRunIsByteIdenticalAndComputesEachTileOnce() throws {
    let kernel = SyntheticKernel(n: 17, p: 5, seed: 2)
    let id = identity(kernel, t: 4, precision: .float32)  // b = 5, 15 tiles
    let expected = try referenceBytes(kernel, id, .float32)

    let run = RunDirectory(path: dir.path + "/resumed")
    var computed: [Int: Int] = [:]
    guard case .stopped(let first) = try session(run, kernel, id, stopAfter: 4, computed: &computed) else { return XCTFail() }
    XCTAssertEqual(first.tilesDone, 4)
    guard case .stopped(let second) = try session(run, kernel, id, stopAfter: 6, computed: &computed) else { return XCTFail() }
    XCTAssertEqual(second.tilesDone, 10)
    guard case .completed(let third) = try session(run, kernel, id, computed: &computed) else { return XCTFail() }
    XCTAssertEqual(third.tilesDone, 15)
    XCTAssertEqual(third.tilesThisSession, 5)
    XCTAssertEqual(computed.keys.sorted(), Array(0..<15))
    XCTAssertTrue(computed.values.allSatisfy { $0 == 1 }, "\(computed)")
    XCTAssertEqual(try run.journal.segmentNumbers(), [1, 2, 3])
    XCTAssertEqual(try assembleBytes(run, .float32, name: "resumed.npy"), expected)
    // A fourth session computes nothing.
    guard case .completed = try session(run, kernel, id, computed: &computed) else { return XCTFail() }
    XCTAssertTrue(computed.values.allSatisfy { $0 == 1 })
  }

  /// Power loss: the journal's last record torn, the newest object removed: resume recomputes
  /// only the lost tile and ends byte-identical.
  func testTornJournalAndLostObjectRecomputeOnlyWhatWasLost() throws {
    let kernel = SyntheticKernel(n: 12, p: 4, seed: 3)
    let id = identity(kernel, t: 4, precision: .float64)  // b = 3, 6 tiles
    let expected = try referenceBytes(kernel, id, .float64)

    for cutBack in [1, 17, 40, 100] {
      let run = RunDirectory(path: dir.path + "/cut-\(cutBack)")
      var computed: [Int: Int] = [:]
      try session(run, kernel, id, stopAfter: 3, computed: &computed)
      let segment = run.journalDirectory + "/" + Journal.segmentName(1)
      let bytes = try readBytes(segment)
      try writeBytes(Array(bytes.dropLast(cutBack)), segment)
      let lost = try Journal(directory: run.journalDirectory).replay()
      XCTAssertEqual(lost.tiles.keys.sorted(), [0, 1], "cut \(cutBack)")
      // The newest object (tile 2) is also gone.
      try run.objects.remove(ContentHash.sha256(kernel.tileBytes(try id.plan().tiles[2], precision: .float64)))
      try session(run, kernel, id, computed: &computed)
      XCTAssertEqual(computed, [0: 1, 1: 1, 2: 2, 3: 1, 4: 1, 5: 1], "cut \(cutBack)")
      XCTAssertEqual(try assembleBytes(run, .float64, name: "cut-\(cutBack).npy"), expected)
      XCTAssertTrue(try RunVerifier.verify(run: run).isIntact)
    }
  }

  func testResumeWithDifferentIdentityIsRefused() throws {
    let kernel = SyntheticKernel(n: 6, p: 3, seed: 4)
    let run = RunDirectory(path: dir.path + "/run")
    var computed: [Int: Int] = [:]
    try session(run, kernel, identity(kernel, t: 3, precision: .float32), stopAfter: 1, computed: &computed)
    XCTAssertThrowsError(try session(run, kernel, identity(kernel, t: 3, precision: .float32, weights: "other"), computed: &computed)) { error in
      let e = error as? CheckpointError
      XCTAssertEqual(e?.code, .identityMismatch)
      XCTAssertTrue(e?.message.contains("different weights hash (run has \(testHash("weights").hex.prefix(12))") ?? false, "\(error)")
      XCTAssertFalse(e?.message.contains("manifest hash") ?? true, "\(error)")
    }
    var changed = identity(kernel, t: 3, precision: .float32)
    changed.inputDataHash = testHash("other data")
    changed.tileSamples = 2
    XCTAssertThrowsError(try session(run, kernel, changed, computed: &computed)) { error in
      XCTAssertTrue("\(error)".contains("input data hash"), "\(error)")
      XCTAssertTrue("\(error)".contains("tileSamples (run has 3, now 2)"), "\(error)")
    }
    // The refusals wrote no segment and released the lock: the right identity resumes.
    XCTAssertEqual(try run.journal.segmentNumbers(), [1])
    guard case .completed = try session(run, kernel, identity(kernel, t: 3, precision: .float32), computed: &computed) else { return XCTFail() }
    XCTAssertTrue(computed.values.allSatisfy { $0 == 1 })
  }

  func testSecondSessionOnSameRunIsRefusedWhileFirstIsOpen() throws {
    let kernel = SyntheticKernel(n: 4, p: 3, seed: 5)
    let run = RunDirectory(path: dir.path + "/run")
    let first = try RunSession.open(run: run, identity: identity(kernel, t: 2, precision: .float32), manifestJSON: [])
    XCTAssertThrowsError(try RunSession.open(run: run, identity: identity(kernel, t: 2, precision: .float32), manifestJSON: [])) { error in
      XCTAssertEqual((error as? CheckpointError)?.code, .locked)
      XCTAssertTrue("\(error)".contains("pid \(ProcessInfo.processInfo.processIdentifier)"), "\(error)")
    }
    first.close()
    let second = try RunSession.open(run: run, identity: identity(kernel, t: 2, precision: .float32), manifestJSON: [])
    XCTAssertEqual(second.header.session, 2)
    second.close()
  }

  func testFloat16OverflowIsRefusedWithCountAndWritesNothing() throws {
    let kernel = SyntheticKernel(n: 6, p: 4, seed: 6, magnitude: 200)
    let run = RunDirectory(path: dir.path + "/run")
    var computed: [Int: Int] = [:]
    try session(run, kernel, identity(kernel, t: 4, precision: .float64), computed: &computed)
    let dense = kernel.dense()
    let overflowing = dense.filter { Float16($0).isInfinite }.count
    XCTAssertGreaterThan(overflowing, 0)
    XCTAssertLessThan(overflowing, dense.count)
    let output = dir.path + "/out/g16.npy"
    try FileManager.default.createDirectory(atPath: dir.path + "/out", withIntermediateDirectories: true)
    XCTAssertThrowsError(try TileAssembler.assemble(run: run, dtype: .float16, output: output)) { error in
      XCTAssertEqual((error as? CheckpointError)?.code, .overflow)
      XCTAssertTrue("\(error)".contains("\(overflowing) values of the matrix are outside the finite range of float16"), "\(error)")
    }
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/out"), [])
    try TileAssembler.assemble(run: run, dtype: .float32, output: output)
    XCTAssertEqual(try NpyArray.read(path: output).doubles(), dense.map { Double(Float($0)) })
  }

  /// The overflow advice suggests only settings not in use: a wider --dtype than the one asked,
  /// sqrt-params only for a run with normalization none, float64 only for a float32 run.
  func testOverflowAdviceNamesOnlySettingsNotInUse() throws {
    let kernel = SyntheticKernel(n: 6, p: 4, seed: 6, magnitude: 200)
    for normalization in [KernelNormalization.none, .sqrtParams] {
      let run = RunDirectory(path: dir.path + "/run-\(normalization.rawValue)")
      var computed: [Int: Int] = [:]
      try session(run, kernel, identity(kernel, t: 4, precision: .float64, normalization: normalization), computed: &computed)
      XCTAssertThrowsError(try TileAssembler.assemble(run: run, dtype: .float16, output: dir.path + "/g-\(normalization.rawValue).npy")) { error in
        let advice = "nothing written. Use --dtype float32 or float64" + (normalization == .none ? ", or a run with ntk.normalization sqrt-params (the kernel × 1/√P)" : "")
        XCTAssertTrue("\(error)".hasSuffix(advice), "\(error)")
      }
    }
    XCTAssertEqual(OverflowHint.assemble(dtype: .float32, precision: .float64, normalization: .sqrtParams), "Use --dtype float64")
    XCTAssertEqual(OverflowHint.assemble(dtype: .float16, precision: .float32, normalization: .sqrtParams), "Use --dtype float32")
    XCTAssertEqual(OverflowHint.tile(precision: .float32, normalization: .sqrtParams), "ntk.precision float64 may avoid it")
    XCTAssertEqual(OverflowHint.tile(precision: .float32, normalization: .none), "ntk.precision float64 or ntk.normalization sqrt-params may avoid it")
    XCTAssertEqual(OverflowHint.tile(precision: .float64, normalization: .sqrtParams),
                   "it overflows even in float64 with sqrt-params: check the scale of the weights and inputs")
  }

  func testAssembleRefusesWhileTilesAreMissingUnlessPartial() throws {
    let kernel = SyntheticKernel(n: 10, p: 3, seed: 7)
    let run = RunDirectory(path: dir.path + "/run")
    var computed: [Int: Int] = [:]
    try session(run, kernel, identity(kernel, t: 2, precision: .float32), stopAfter: 3, computed: &computed)  // 15 tiles
    XCTAssertThrowsError(try TileAssembler.assemble(run: run, dtype: .float32, output: dir.path + "/g.npy")) { error in
      XCTAssertEqual((error as? CheckpointError)?.code, .incomplete)
      XCTAssertTrue("\(error)".contains("12 of 15 tiles are missing (first: 3 (I=0, J=3), 4 (I=0, J=4), 5 (I=1, J=1), 6 (I=1, J=2), 7 (I=1, J=3), …)"), "\(error)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/g.npy"))
    let report = try TileAssembler.assemble(run: run, dtype: .float32, output: dir.path + "/p.npy", allowPartial: true)
    XCTAssertEqual(report.missingTiles, Array(3..<15))
    let values = try NpyArray.read(path: dir.path + "/p.npy").doubles()
    XCTAssertEqual(values[0 * 100 + 5], Double(Float(kernel.value(0, 5))))
    XCTAssertTrue(values[0 * 100 + 99].isNaN, "tile (0, 4) is missing")
    XCTAssertTrue(values[99 * 100 + 0].isNaN, "its mirror too")
  }

  func testVerifyNamesDamagedAndMissingTilesOrphansAndTemporaries() throws {
    let kernel = SyntheticKernel(n: 9, p: 3, seed: 8)
    let id = identity(kernel, t: 3, precision: .float32)  // 6 tiles
    let run = RunDirectory(path: dir.path + "/run")
    var computed: [Int: Int] = [:]
    try session(run, kernel, id, computed: &computed)
    let clean = try RunVerifier.verify(run: run)
    XCTAssertTrue(clean.isIntact)
    XCTAssertEqual(clean.tilesChecked, 6)
    XCTAssertEqual(clean.orphans, [])
    let replay = try run.journal.replay()
    let damaged = replay.tiles[4]!
    let objectPath = run.objects.path(for: damaged.object)
    var bytes = try readBytes(objectPath)
    bytes[bytes.count / 2] ^= 0x01
    try writeBytes(bytes, objectPath)
    try run.objects.remove(replay.tiles[1]!.object)
    let orphan = try run.objects.put([UInt8](repeating: 3, count: 64))
    // A leftover of a writer that is gone (pid 99999999 does not exist): a live writer's temporary
    // (this process's pid, as `AtomicFile.temporaryPath` names it) is not a leftover.
    let temporary = AtomicFile.temporaryPath(for: run.objects.path(for: orphan.hash))
      .replacingOccurrences(of: ".tmp-\(ProcessInfo.processInfo.processIdentifier)-", with: ".tmp-99999999-")
    try writeBytes([1], temporary)
    let report = try RunVerifier.verify(run: run)
    XCTAssertFalse(report.isIntact)
    XCTAssertEqual(report.problems.map { [$0.index, $0.rowBlock, $0.columnBlock] }, [[1, 0, 1], [4, 1, 2]])
    XCTAssertEqual(report.problems.map(\.missing), [true, false])
    XCTAssertTrue(report.problems[1].reason.contains("damaged"), report.problems[1].reason)
    XCTAssertEqual(report.orphans, [orphan.hash])
    XCTAssertEqual(report.temporaryFiles, [temporary])
    XCTAssertThrowsError(try TileAssembler.assemble(run: run, dtype: .float32, output: dir.path + "/g.npy")) { error in
      XCTAssertEqual((error as? CheckpointError)?.code, .damaged)
    }
  }

  /// A tile journaled between `verify`'s replay and its listing of the objects (a run finishing
  /// while `verify` runs) is not an orphan; an object no record names is.
  func testATileJournaledDuringVerifyIsNotAnOrphan() throws {
    let kernel = SyntheticKernel(n: 9, p: 3, seed: 10)
    let id = identity(kernel, t: 3, precision: .float32)  // 6 tiles
    let run = RunDirectory(path: dir.path + "/run")
    var computed: [Int: Int] = [:]
    try session(run, kernel, id, stopAfter: 3, computed: &computed)
    let before = Set(try run.journal.replay().tiles.values.map(\.object))  // verify's replay
    XCTAssertEqual(before.count, 3)
    try session(run, kernel, id, stopAfter: 1, computed: &computed)  // tile 3: object, then record
    let finished = try run.journal.replay().tiles[3]!.object
    XCTAssertFalse(before.contains(finished))
    XCTAssertEqual(try RunVerifier.orphans(run: run, named: before), [])
    let orphan = try run.objects.put([UInt8](repeating: 5, count: 48))
    XCTAssertEqual(try RunVerifier.orphans(run: run, named: before), [orphan.hash])
    XCTAssertEqual(try RunVerifier.verify(run: run).orphans, [orphan.hash])
  }

  func testStatusFromJournal() throws {
    let kernel = SyntheticKernel(n: 10, p: 3, seed: 9)
    let run = RunDirectory(path: dir.path + "/run")
    var computed: [Int: Int] = [:]
    try session(run, kernel, identity(kernel, t: 4, precision: .float64), stopAfter: 2, computed: &computed)  // 6 tiles
    let status = try RunStatus.read(run: run)
    let plan = try TilePlan(sampleCount: 10, tileSamples: 4, precision: .float64)
    XCTAssertEqual(status.tilesDone, 2)
    XCTAssertEqual(status.tilesTotal, 6)
    XCTAssertEqual(status.pairsDone, 4 * 5 / 2 + 4 * 4)  // diagonal tile (0, 0), then (0, 1)
    XCTAssertEqual(status.pairsTotal, 55)
    XCTAssertEqual(status.rawBytes, plan.tiles[0].rawByteCount + plan.tiles[1].rawByteCount)
    XCTAssertEqual(status.plannedRawBytes, plan.rawByteCount)
    XCTAssertGreaterThan(status.storedBytes, 0)
    XCTAssertEqual(status.sessions, 1)
    XCTAssertNil(status.writer)
    XCTAssertFalse(status.isComplete)
    XCTAssertNotNil(status.etaSeconds)
    let json = try JSONEncoder().encode(status)
    XCTAssertEqual(try JSONDecoder().decode(RunStatus.self, from: json), status)
    XCTAssertThrowsError(try RunStatus.read(run: RunDirectory(path: dir.path + "/nothing"))) { error in
      XCTAssertEqual((error as? CheckpointError)?.code, .badInput)
    }
  }
}

extension TileRunnerTests {
  /// The ETA is sample pairs left at the rate of the last `etaWindowTiles` tiles: after a slow
  /// first row (block Jacobians computed) it follows the fast tiles, where the session's average
  /// rate would still overstate the time left by more than 2×.
  func testETAFollowsTheRecentTilesNotTheSlowFirstRow() throws {
    let kernel = SyntheticKernel(n: 40, p: 3, seed: 5)  // tiles of 5: 8 blocks, 36 tiles
    let id = identity(kernel, t: 5, precision: .float64)
    let opened = try RunSession.open(run: RunDirectory(path: dir.path + "/eta"), identity: id, manifestJSON: Array("{}\n".utf8))
    defer { opened.close() }
    let plan = try id.plan()
    var reports: [RunProgress] = []
    _ = try TileRunner(session: opened, plan: plan).run(compute: { tile in
      usleep(tile.rowBlock == 0 ? 250_000 : 5_000)  // row 0: the first row of a cached run
      return kernel.tileBytes(tile, precision: id.precision)
    }, progress: { reports.append($0) })
    let first = plan.tiles.filter { $0.rowBlock == 0 }.count
    let report = reports[first + TileRunner.etaWindowTiles + 1]  // the window holds fast tiles only
    let eta = try XCTUnwrap(report.etaSeconds)
    let pairsLeft = Double(report.pairsTotal - report.pairsDone)
    let averageETA = pairsLeft / report.pairsPerSecond
    XCTAssertLessThan(eta, averageETA / 2, "ETA \(eta) s vs the session average's \(averageETA) s")
    // …and no faster than the sleeps allow: at most 5·5 pairs per 5 ms.
    XCTAssertGreaterThanOrEqual(eta, pairsLeft / 25 * 0.005)
    XCTAssertEqual(reports.last?.etaSeconds, 0)
  }

  /// `status`'s ETA from the journal: the wall time per sample pair of the newest session's last
  /// 17 tiles, once there are that many (timestamps in whole seconds): a slow first row (8 tiles a
  /// minute apart) is left behind by the fast tiles after it (2 s apart).
  func testStatusETAUsesTheLastTilesOfTheNewestSession() throws {
    let plan = try TilePlan(sampleCount: 40, tileSamples: 5, precision: .float64)  // 36 tiles, row 0: 8
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    var finished: [Date] = []
    for k in 0..<28 { finished.append(k < 8 ? start.addingTimeInterval(60 * Double(k + 1)) : finished[7].addingTimeInterval(2 * Double(k - 7))) }
    let formatter = ISO8601DateFormatter()
    func records(_ count: Int) -> [TileRecord] {
      (0..<count).map { k in
        let tile = plan.tiles[k]
        return TileRecord(index: k, rowBlock: tile.rowBlock, columnBlock: tile.columnBlock, object: testHash("\(k)"),
                          rawByteCount: tile.rawByteCount, storedByteCount: 1, computeSeconds: 1,
                          finishedAt: formatter.string(from: finished[k]))
      }
    }
    let perPair = try XCTUnwrap(RunStatus.recentWallSecondsPerPair(records(28), since: start, plan: plan))
    let windowPairs = (12..<28).reduce(0) { $0 + plan.tiles[$1].samplePairs }  // tile 11 is the window's start
    XCTAssertEqual(perPair, 32 / Double(windowPairs), accuracy: 1e-12)
    let sessionPerPair = finished[27].timeIntervalSince(start) / Double((0..<28).reduce(0) { $0 + plan.tiles[$1].samplePairs })
    XCTAssertLessThan(perPair, sessionPerPair / 2)
    // 16 tiles are too few (the sessions' wall time per tile is used); so is a window under 10 s.
    XCTAssertNil(RunStatus.recentWallSecondsPerPair(records(16), since: start, plan: plan))
    finished = finished.map { $0 > finished[7] ? finished[7].addingTimeInterval(0.5 * $0.timeIntervalSince(finished[7]) / 2) : $0 }
    XCTAssertNil(RunStatus.recentWallSecondsPerPair(records(28), since: finished[7], plan: plan))
    // Tiles finished before the newest session started do not count.
    XCTAssertNil(RunStatus.recentWallSecondsPerPair(records(28), since: finished[20], plan: plan))
  }

  /// Bit flip and lost object → verify names them → repair drops them → run recomputes exactly
  /// those tiles → verified, byte-identical output.
  func testRepairThenRunRestoresVerifiedByteIdenticalState() throws {
    let kernel = SyntheticKernel(n: 9, p: 3, seed: 10)
    let id = identity(kernel, t: 3, precision: .float32)  // 6 tiles
    let run = RunDirectory(path: dir.path + "/run")
    var computed: [Int: Int] = [:]
    try session(run, kernel, id, computed: &computed)
    let expected = try assembleBytes(run, .float32, name: "before.npy")
    let replay = try run.journal.replay()
    let objectPath = run.objects.path(for: replay.tiles[5]!.object)
    var bytes = try readBytes(objectPath)
    bytes[bytes.count - 5] ^= 0x80
    try writeBytes(bytes, objectPath)
    try run.objects.remove(replay.tiles[2]!.object)
    let orphan = try run.objects.put([UInt8](repeating: 9, count: 32))
    let temporary = AtomicFile.temporaryPath(for: run.objects.path(for: orphan.hash))
    try writeBytes([1, 2], temporary)

    let repaired = try RunRepair.repair(run: run)
    XCTAssertEqual(repaired.droppedTiles.map(\.index), [2, 5])
    XCTAssertEqual(Set(repaired.removedOrphans), Set([orphan.hash, replay.tiles[5]!.object]))
    XCTAssertEqual(repaired.removedTemporaryFiles, [temporary])
    let afterRepair = try run.journal.replay()
    XCTAssertEqual(afterRepair.tiles.keys.sorted(), [0, 1, 3, 4])
    XCTAssertEqual(afterRepair.drops.map(\.index).sorted(), [2, 5], "tile 5 (the newest) is dropped when the session opens, tile 2 after verification")
    let verified = try RunVerifier.verify(run: run)
    XCTAssertTrue(verified.isIntact)
    XCTAssertEqual(verified.tilesNotYetComputed, 2)
    XCTAssertEqual(verified.orphans, [])

    try session(run, kernel, id, computed: &computed)
    XCTAssertEqual(computed, [0: 1, 1: 1, 2: 2, 3: 1, 4: 1, 5: 2])
    XCTAssertTrue(try RunVerifier.verify(run: run).isIntact)
    XCTAssertEqual(try assembleBytes(run, .float32, name: "after.npy"), expected)
  }
}
