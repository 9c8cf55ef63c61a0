import XCTest
@testable import Engine

/// The bytes a refused tile "needs" are the plan's own number: the smaller estimated peak of the
/// two strategies, i.e. the budget at which `TileMemoryPlan.make` succeeds (it named layer
/// streaming's peak, which for LeNet is about three times whole blocks', so `check`'s plan and
/// `run`'s refusal disagreed near the limit).
final class TileMemoryPlanNeedTests: XCTestCase {
  private func mebibytes(_ bytes: Int) -> Int { (bytes + (1 << 20) - 1) >> 20 }

  func testTheNeedNamedIsTheBudgetAtWhichThePlanSucceeds() throws {
    let lenet = try ModelZoo.make(name: "lenet", scalar: Float.self)
    let (n, t, base) = (1000, 200, 64 << 20)
    let whole = TileMemoryPlan.working(lenet, n: n, t: t, strategy: .wholeBlocks, base: base)
    let streamed = TileMemoryPlan.working(lenet, n: n, t: t, strategy: .layerStreaming, base: base)
    XCTAssertGreaterThan(streamed, whole + (50 << 20), "layer streaming holds every layer's factors")
    let budget = mebibytes(whole) << 20
    // The need rounded up, the budget (a limit) down: one byte short prints as one MiB short.
    XCTAssertEqual((whole - 1) >> 20, mebibytes(whole) - 1)
    XCTAssertThrowsError(try TileMemoryPlan.make(model: lenet, sampleCount: n, budgetBytes: whole - 1, baseBytes: base, tileSamples: t)) { error in
      XCTAssertEqual((error as? EngineError)?.code, .memoryBudget)
      XCTAssertEqual((error as? EngineError)?.message, "ntk.tileSamples 200 needs about \(mebibytes(whole)) MiB (estimated peak with whole-blocks, including 64 MiB for the process itself) for lenet (P = 62006) on 1000 samples, over the budget of \((whole - 1) >> 20) MiB (ntk.memoryBudget); use a smaller tileSamples or \"auto\"")
    }
    // A budget of the MiB named: planned, with exactly the peak `check` prints.
    let plan = try TileMemoryPlan.make(model: lenet, sampleCount: n, budgetBytes: budget, baseBytes: base, tileSamples: t)
    XCTAssertEqual(plan.strategy, .wholeBlocks)
    XCTAssertEqual(plan.workingBytes, whole)
    // The plan lines print the peak rounded up (MemorySizeText's need): that many MiB as the budget plan it.
    XCTAssertEqual(MemorySizeText.mebibytesRoundedUp(plan.workingBytes) << 20, budget)

    // `t` recorded by a run directory for "auto" (tester-s9): the refusal says so, and its remedy is
    // a larger budget or another run directory — not "auto", which the manifest already says.
    XCTAssertThrowsError(try TileMemoryPlan.make(model: lenet, sampleCount: n, budgetBytes: whole - 1, baseBytes: base,
                                                 tileSamples: t, recorded: true)) { error in
      XCTAssertEqual((error as? EngineError)?.message, "ntk.tileSamples \"auto\": this run directory keeps its recorded tiles of 200 samples a side, which need about \(mebibytes(whole)) MiB (estimated peak with whole-blocks, including 64 MiB for the process itself) for lenet (P = 62006) on 1000 samples, over the budget of \((whole - 1) >> 20) MiB (ntk.memoryBudget); raise ntk.memoryBudget, or give another --run-dir to start a run whose tiles fit")
    }

    // The smallest tile: likewise the smaller of the two peaks at one sample a side.
    let smallest = min(TileMemoryPlan.working(lenet, n: n, t: 1, strategy: .wholeBlocks, base: base),
                       TileMemoryPlan.working(lenet, n: n, t: 1, strategy: .layerStreaming, base: base))
    XCTAssertThrowsError(try TileMemoryPlan.make(model: lenet, sampleCount: n, budgetBytes: smallest - 1, baseBytes: base, tileSamples: nil)) { error in
      XCTAssertTrue((error as? EngineError)?.message.hasPrefix("the smallest tile (one sample a side) needs about \(mebibytes(smallest)) MiB (estimated peak with whole-blocks,") ?? false, "\(error)")
    }
    XCTAssertEqual(try TileMemoryPlan.make(model: lenet, sampleCount: n, budgetBytes: smallest, baseBytes: base, tileSamples: nil).tileSamples, 1)
  }

  /// A fixed tileSamples over a budget that not even one sample a side fits (the process's own
  /// base is most of it): the remedy is a larger budget, not a smaller tile or "auto", which would
  /// be refused next (tester-s13 #5).
  func testAFixedTileOverABudgetNoTileFitsAsksForALargerBudget() throws {
    let lenet = try ModelZoo.make(name: "lenet", scalar: Float.self)
    let (n, t, base) = (200, 20, 100 << 20)
    let smallest = TileMemoryPlan.need(lenet, n: n, t: 1, base: base).bytes
    XCTAssertGreaterThan(smallest, base, "the base is part of every need")
    XCTAssertThrowsError(try TileMemoryPlan.make(model: lenet, sampleCount: n, budgetBytes: 10_000_000, baseBytes: base, tileSamples: t)) { error in
      let message = (error as? EngineError)?.message ?? ""
      XCTAssertTrue(message.hasPrefix("ntk.tileSamples 20 needs about "), message)
      XCTAssertTrue(message.hasSuffix("over the budget of 9 MiB (ntk.memoryBudget); raise ntk.memoryBudget (even the smallest tile, one sample a side, needs about \(mebibytes(smallest)) MiB)"), message)
    }
    // With a budget one sample a side fits but 20 do not, the smaller tile is the remedy.
    XCTAssertThrowsError(try TileMemoryPlan.make(model: lenet, sampleCount: n, budgetBytes: smallest, baseBytes: base, tileSamples: t)) { error in
      XCTAssertTrue(((error as? EngineError)?.message ?? "").hasSuffix("; use a smaller tileSamples or \"auto\""))
    }
  }
}
