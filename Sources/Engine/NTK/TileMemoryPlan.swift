/// How a run fits a memory budget: the tile size, the strategy, and the bytes left for caching
/// column blocks.
///
/// Model of resident memory (bytes, s = scalar size, t = tileSamples, R = t·m, m = 10):
///
///     base                                  process, code, BLAS buffers (the caller's `baseBytes`)
///   + n·sampleSize·s · 2                    the dataset tensor and one block copy of it
///   + 4·R²·s                                the tile, the structured-Linear scratch D, its raw
///                                           byte copy and its compressed copy
///   + transient(t)·s                        activations and cotangents while a block is computed
///                                           (`Model.jacobianTransientScalarCount`)
///   + wholeBlocks:    2·J(t)·s              row and column Jacobian blocks (`jacobianScalarCount` with
///                                           the tile's `ContractionChoice`: structured Conv2d layers
///                                           hold cotangents and patches, never explicit rows)
///     layerStreaming: 2·F(t)·s + 2·L(t)·s   row and column factors (`jacobianFactorScalarCount`)
///                                           and one layer's part of each (`largestJacobianPartScalarCount`)
///                                           (one block, not two, when t ≥ n: a single diagonal tile)
///   + S(t)·s                                structured Conv2d scratch: max over those layers of two
///                                           cores' Gram chunk `L·c·L` and one pair's products
///                                           `m·out_g·L` (c column samples: `StructuredConvContraction`)
///   + cache                                 column blocks kept for later rows, ≤ what is left
///
/// For the kernel variants (`NTKVariant`) R is t·m′ with m′ = 1 for `pseudo` (its blocks hold
/// one row per sample) and the tile `t²` (`trace`, `pseudo`) or `t·m²` (`diagonal`) scalars; the
/// per-layer choice is made for the variant's outputs per contraction.
///
/// `auto` picks the largest t (≤ n) that fits with whole blocks; if layer streaming fits a tile
/// at least twice as large (per side) it is used instead, since tiny tiles waste the GEMMs.
public struct TileMemoryPlan: Equatable, Sendable {
  public let tileSamples: Int
  public let strategy: TileStrategy
  /// Per-layer contraction for tiles of `min(tileSamples, n)` samples (`ContractionChoice`).
  public let contraction: ContractionChoice
  /// Estimated peak resident bytes without any cache (base included).
  public let workingBytes: Int
  /// Bytes left for cached column blocks: `budget − workingBytes`.
  public let cacheBytes: Int

  /// Plans a run of `sampleCount` samples within `budgetBytes`.
  ///
  /// - Parameters:
  ///   - tileSamples: a fixed tile size, or `nil` for the largest that fits.
  ///   - baseBytes: resident bytes outside the model (process, code, BLAS buffers).
  ///   - columnSampleCount: cross kernels, the number of column samples n_c (both datasets are
  ///     held, two blocks always, t ≤ max(n, n_c)).
  ///   - recorded: `tileSamples` is not the manifest's but the one a run directory records for
  ///     `"auto"` (a resumed run keeps its tiles): the refusal says so, and what to do instead.
  ///   - existingRun: a run directory already records tiles of `tileSamples` (another tile size
  ///     would be another computation): the refusal advises a larger budget or another run
  ///     directory, not a smaller tile.
  /// - Throws: `EngineError.memoryBudget` if not even the requested (or, for `nil`, the smallest,
  ///   one sample a side) tile fits, naming the bytes it needs: the smaller estimated peak of the
  ///   two strategies (`working`), the budget at which the plan would succeed, and that strategy.
  public static func make<T: BLASScalar>(
    model: Model<T>, sampleCount n: Int, budgetBytes: Int, baseBytes: Int, tileSamples: Int?,
    columnSampleCount nc: Int? = nil, variant: NTKVariant = .full, recorded: Bool = false, existingRun: Bool = false
  ) throws -> TileMemoryPlan {
    // A cross kernel's tile side is bounded by the larger of its two sample counts.
    let side = max(n, nc ?? 0)
    // A tile never holds more than n samples a side (a requested t > n is kept as the run's
    // tileSamples, so the run identity is unchanged, but costs what n does).
    func fits(_ t: Int, _ strategy: TileStrategy) -> Bool {
      working(model, n: n, t: min(t, max(1, side)), strategy: strategy, base: baseBytes, columnSampleCount: nc, variant: variant) <= budgetBytes
    }
    func plan(_ t: Int, _ strategy: TileStrategy) -> TileMemoryPlan {
      let bytes = working(model, n: n, t: min(t, max(1, side)), strategy: strategy, base: baseBytes, columnSampleCount: nc, variant: variant)
      return TileMemoryPlan(tileSamples: t, strategy: strategy,
                            contraction: ContractionChoice.make(model: model, tileSamples: min(t, max(1, side)),
                                                                outputs: variant.contractionOutputs(outputs: model.outputsPerSample)),
                            workingBytes: bytes, cacheBytes: budgetBytes - bytes)
    }
    func smallestNeed(t: Int) -> (TileStrategy, Int) {
      need(model, n: n, t: t, base: baseBytes, columnSampleCount: nc, variant: variant)
    }
    if let t = tileSamples {
      if fits(t, .wholeBlocks) { return plan(t, .wholeBlocks) }
      if fits(t, .layerStreaming) { return plan(t, .layerStreaming) }
      let smallest = min(t, max(1, side))  // the tile t really is: at most the samples there are
      let (strategy, needed) = smallestNeed(t: smallest)
      let subject = recorded
        ? "ntk.tileSamples \"auto\": this run directory keeps its recorded tiles of \(t) sample\(t == 1 ? "" : "s") a side, which need"
        : "ntk.tileSamples \(t) needs"
      let oneSide = smallestNeed(t: 1).1  // the least budget that plans one sample a side
      let remedy = recorded
        ? "raise ntk.memoryBudget, or give another --run-dir to start a run whose tiles fit"
        : existingRun
          ? "this run directory's tiles are of \(t) sample\(t == 1 ? "" : "s") a side (another tileSamples would be another computation): raise ntk.memoryBudget, or give another --run-dir to start a run whose tiles fit"
          : smallest == 1
            ? "one sample a side is the smallest tile: raise ntk.memoryBudget"
            : oneSide <= budgetBytes
              ? "use a smaller tileSamples or \"auto\""
              : "raise ntk.memoryBudget (even the smallest tile, one sample a side, needs about \(MemorySizeText.need(oneSide)))"
      throw EngineError(.memoryBudget, "\(subject) about \(MemorySizeText.need(needed)) (estimated peak with \(strategy.rawValue), including \(MemorySizeText.need(baseBytes)) for the process itself) for \(model.name) (P = \(model.parameterCount)) on \(n) sample\(n == 1 ? "" : "s"), over the budget of \(MemorySizeText.limit(budgetBytes)) (ntk.memoryBudget); \(remedy)")
    }
    let limit = max(1, side)
    let whole = largest(upTo: limit) { fits($0, .wholeBlocks) }
    let streamed = largest(upTo: limit) { fits($0, .layerStreaming) }
    switch (whole, streamed) {
    case (let w?, let s?) where s >= 2 * w: return plan(s, .layerStreaming)
    case (let w?, _): return plan(w, .wholeBlocks)
    case (nil, let s?): return plan(s, .layerStreaming)
    case (nil, nil):
      let (strategy, needed) = smallestNeed(t: 1)
      throw EngineError(.memoryBudget, "the smallest tile (one sample a side) needs about \(MemorySizeText.need(needed)) (estimated peak with \(strategy.rawValue), including \(MemorySizeText.need(baseBytes)) for the process itself) for \(model.name) (P = \(model.parameterCount)) on \(n) sample\(n == 1 ? "" : "s"), over the budget of \(MemorySizeText.limit(budgetBytes)) (ntk.memoryBudget); raise ntk.memoryBudget")
    }
  }

  /// What a tile of `t` samples needs: the smaller estimated peak of the two strategies (layer
  /// streaming holds every layer's factors, more than whole blocks when most layers are
  /// structured) — the least budget at which `make` plans it — and that strategy.
  public static func need<T: BLASScalar>(
    _ model: Model<T>, n: Int, t: Int, base: Int, columnSampleCount nc: Int? = nil, variant: NTKVariant = .full
  ) -> (strategy: TileStrategy, bytes: Int) {
    [TileStrategy.wholeBlocks, .layerStreaming]
      .map { ($0, working(model, n: n, t: t, strategy: $0, base: base, columnSampleCount: nc, variant: variant)) }
      .min { $0.1 < $1.1 }!
  }

  /// Estimated peak resident bytes of a run with tiles of `t` samples and no cache (see the type's
  /// memory model).
  public static func working<T: BLASScalar>(
    _ model: Model<T>, n: Int, t: Int, strategy: TileStrategy, base: Int, columnSampleCount nc: Int? = nil,
    variant: NTKVariant = .full
  ) -> Int {
    let s = MemoryLayout<T>.stride
    let m = model.outputsPerSample
    let jacobianRows = variant.jacobianOutputs(outputs: m)  // rows per sample a block holds
    let rows = t * m
    let dataset = 2 * (n + (nc ?? 0)) * model.inputShape.reduce(1, *)
    // The tile, its raw and compressed copies; the structured-Linear scratch D is R_I·R_J of the
    // contraction's rows (t·m′ a side; m × m per sample for the diagonal kernel).
    let contractionRows = variant == .diagonal ? m : t * variant.contractionOutputs(outputs: m)
    let tile = variant == .full ? 4 * rows * rows : 3 * variant.tileScalarCount(rows: t, columns: t, outputs: m) + contractionRows * contractionRows
    let transient = model.jacobianTransientScalarCount(samples: t)
    let choice = ContractionChoice.make(model: model, tileSamples: t, outputs: variant.contractionOutputs(outputs: m))
    var scratch = 0
    for layer in choice.layers where layer.structured {
      let node = model.nodes[layer.node]
      guard let conv = node.layer as? Conv2d<T> else { continue }
      let L = node.outputShape.dropFirst().reduce(1, *)
      let input = model.inputShape(ofNode: layer.node)
      // Per core a Gram chunk and one pair's products Z.
      scratch = max(scratch, 2 * StructuredConvContraction.scratchScalars(
        positions: L, patchGram: conv.patchGram(inputHeight: input[1], width: input[2]), groupOutputs: conv.outChannels / conv.groups,
        outputsPerSample: model.outputsPerSample, columnSamples: t))
    }
    // With t ≥ n there is one block and one (diagonal) tile: one block is held, not two.
    // A cross kernel (nc) always holds a row block and a column block; the diagonal kernel's tiles
    // are (I, I) only: it never holds a column block.
    let held = (nc == nil && t >= n) || variant == .diagonal ? 1 : 2
    let blocks: Int
    switch strategy {
    case .wholeBlocks:
      blocks = held * model.jacobianScalarCount(samples: t, choice: choice, outputs: jacobianRows)
    case .layerStreaming:
      blocks = held * (model.jacobianFactorScalarCount(samples: t, outputs: jacobianRows)
                       + model.largestJacobianPartScalarCount(samples: t, choice: choice, outputs: jacobianRows))
    }
    return base + s * (dataset + tile + transient + blocks + scratch)
  }

  /// The largest t in 1…limit with `fits(t)`, or nil. Memory grows with t, except that t = limit
  /// (= n, one diagonal tile) holds one block instead of two: it is tried first.
  private static func largest(upTo limit: Int, _ fits: (Int) -> Bool) -> Int? {
    if fits(limit) { return limit }
    guard fits(1) else { return nil }
    var (low, high) = (1, limit)  // fits(low) holds
    while low < high {
      let mid = (low + high + 1) / 2
      if fits(mid) { low = mid } else { high = mid - 1 }
    }
    return low
  }
}
