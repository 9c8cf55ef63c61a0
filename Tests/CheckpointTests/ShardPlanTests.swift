import XCTest
@testable import Checkpoint
import Engine

/// `ShardPlan`: N contiguous ranges that cover the plan exactly once, balanced by cost; `ShardSpec`
/// parsing from the command line and from Slurm / Kubernetes environments.
final class ShardPlanTests: XCTestCase {
  /// A LeNet-like cost: contraction ∝ n_I·n_J (half on the diagonal: SYRK) plus one block Jacobian ∝ n_J.
  private func costs(_ plan: TilePlan) -> [Double] {
    plan.tiles.map { tile in
      let contraction = 5.7e9 * Double(tile.rows.count * tile.columns.count) / 1e4 * (tile.rowBlock == tile.columnBlock ? 0.5 : 1)
      return contraction + 4e8 * Double(tile.columns.count) / 100
    }
  }

  private func assertPartition(_ shards: ShardPlan, tiles: Int, costs: [Double], context: String) {
    XCTAssertEqual(shards.ranges.count, shards.shardCount, context)
    var next = 0
    for range in shards.ranges {
      XCTAssertEqual(range.lowerBound, next, "contiguous, in plan order: \(context)")
      next = range.upperBound
    }
    XCTAssertEqual(next, tiles, "every tile once: \(context)")
    XCTAssertEqual(shards.ranges.reduce(0) { $0 + $1.count }, tiles, context)
    let total = costs.reduce(0, +)
    XCTAssertEqual(shards.costs.reduce(0, +), total, accuracy: total * 1e-9 + 1e-9, context)
    // Each shard is within one tile's cost of the mean, so within 10 % wherever tiles allow
    // (the largest tile at most 10 % of the mean shard).
    let mean = total / Double(shards.shardCount)
    let largest = costs.max() ?? 0
    for cost in shards.costs {
      XCTAssertLessThanOrEqual(abs(cost - mean), largest * (1 + 1e-9) + 1e-6, context)
    }
    if largest <= 0.1 * mean {
      XCTAssertLessThanOrEqual(shards.balance, 1.1, context)
    }
  }

  func testShardsCoverEveryPlanExactlyOnceAndBalanceCost() throws {
    var balancedCases = 0
    for blocks in 1...140 {  // 1 … 9,870 tiles
      let t = 10
      let n = max(1, blocks * t - blocks % 7)  // a short last block on most plans
      let plan = try TilePlan(sampleCount: n, tileSamples: t, precision: .float32)
      XCTAssertEqual(plan.blockCount, blocks)
      let tileCosts = costs(plan)
      for n in 1...64 {
        let shards = try ShardPlan(tileCosts: tileCosts, shardCount: n)
        assertPartition(shards, tiles: plan.tiles.count, costs: tileCosts, context: "\(plan.tiles.count) tiles, \(n) shards")
        if (tileCosts.max() ?? 0) <= 0.1 * tileCosts.reduce(0, +) / Double(n) { balancedCases += 1 }
      }
    }
    XCTAssertGreaterThan(balancedCases, 4000, "most cases have small enough tiles to be held to 10 %")
  }

  func testArbitraryCostArraysFromOneToTenThousandTiles() throws {
    var generator = SplitMix64(seed: 10)
    for count in [1, 2, 3, 7, 64, 65, 1000, 9999, 10_000] {
      let tileCosts = (0..<count).map { _ in Double(generator.next() % 1000 + 1) }
      for n in 1...64 {
        assertPartition(try ShardPlan(tileCosts: tileCosts, shardCount: n), tiles: count, costs: tileCosts, context: "\(count) random tiles, \(n) shards")
      }
    }
    // Equal costs: an exact split by count.
    let even = try ShardPlan(tileCosts: [Double](repeating: 1, count: 100), shardCount: 4)
    XCTAssertEqual(even.ranges, [0..<25, 25..<50, 50..<75, 75..<100])
    XCTAssertEqual(even.balance, 1)
    // Zero costs still share the work; more shards than tiles leave some empty.
    XCTAssertEqual(try ShardPlan(tileCosts: [0, 0, 0, 0], shardCount: 2).ranges, [0..<2, 2..<4])
    let sparse = try ShardPlan(tileCosts: [1, 1, 1], shardCount: 5)
    XCTAssertEqual(sparse.ranges.filter { !$0.isEmpty }.count, 3)
    XCTAssertThrowsError(try ShardPlan(tileCosts: [1, -1], shardCount: 2))
    XCTAssertThrowsError(try ShardPlan(tileCosts: [1], shardCount: 0))
  }

  func testOneShardIsTheWholePlanAndTheSplitIsDeterministic() throws {
    let plan = try TilePlan(sampleCount: 1000, tileSamples: 100, precision: .float32)
    XCTAssertEqual(try ShardPlan(tileCosts: costs(plan), shardCount: 1).ranges, [0..<55])
    let a = try ShardPlan(tileCosts: costs(plan), shardCount: 4)
    XCTAssertEqual(a, try ShardPlan(tileCosts: costs(plan), shardCount: 4))
    // Rows shrink down the triangle, so the first shard holds fewer rows' worth of tiles than the last.
    XCTAssertLessThan(a.ranges[0].count, a.ranges[3].count)
  }

  func testShardSpecParsing() throws {
    XCTAssertEqual(try ShardSpec.parse("3/4"), try ShardSpec(index: 3, count: 4))
    XCTAssertEqual(try ShardSpec.parse("3/4").tag, "shard-3-of-4")
    XCTAssertEqual(try ShardSpec.parse("slurm", environment: ["SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_COUNT": "8"]),
                   try ShardSpec(index: 7, count: 8))
    XCTAssertEqual(try ShardSpec.parse("slurm", environment: ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4",
                                                              "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3"]),
                   try ShardSpec(index: 2, count: 4))
    XCTAssertEqual(try ShardSpec.parse("10/11"), try ShardSpec(index: 10, count: 11))
    XCTAssertEqual(try ShardSpec.parse("env", environment: ["JOB_COMPLETION_INDEX": "2", "NTKBATCH_SHARD_COUNT": "5"]),
                   try ShardSpec(index: 2, count: 5))
    XCTAssertEqual(try ShardSpec.parse("env", environment: ["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2", "JOB_COMPLETION_INDEX": "1"]),
                   try ShardSpec(index: 0, count: 2))
    for (text, environment, message) in [
      ("4/4", [:], "shard index 4 is outside 0…3"),
      ("1/0", [:], "expected a shard count from 1"),
      ("x", [:], "expected K/N (e.g. 0/4), slurm or env"),
      ("slurm", [:], "SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT are not set"),
      ("env", ["JOB_COMPLETION_INDEX": "1"], "NTKBATCH_SHARD_COUNT"),
      ("slurm", ["SLURM_ARRAY_TASK_ID": "a", "SLURM_ARRAY_TASK_COUNT": "2"], "SLURM_ARRAY_TASK_ID is \"a\""),
      // Re-running some tasks of an array: the environment no longer says N (finding: task 3 of
      // --array=1,3 was "shard 2 of 2", a lone --array=2 was shard 0 of 1, the whole plan).
      ("slurm", ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "3"],
       "the job array is not 0-3 without gaps"),
      ("slurm", ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "1", "SLURM_ARRAY_TASK_MIN": "2", "SLURM_ARRAY_TASK_MAX": "2"],
       "use --shard \"${SLURM_ARRAY_TASK_ID}/N\""),
      ("slurm", ["SLURM_ARRAY_TASK_ID": "11", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "10"], "N is unknown"),
      ("slurm", ["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2"],
       "not 0-2 without gaps"),
      ("+1/2", [:], "expected K/N"), ("01/2", [:], "expected K/N"), ("1/02", [:], "expected K/N"), ("-1/2", [:], "expected K/N"),
    ] as [(String, [String: String], String)] {
      XCTAssertThrowsError(try ShardSpec.parse(text, environment: environment), text) { error in
        XCTAssertEqual((error as? CheckpointError)?.code, .badInput)
        XCTAssertTrue("\(error)".contains(message), "\(error)")
      }
    }
  }
}
