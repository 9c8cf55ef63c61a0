/// Estimated floating-point operations (FLOP) of eNTK tiles of one model: the figure `check`
/// prints, and the cost by which `--shard` balances shards.
///
/// Per tile (I, J) with n_I, n_J samples, R = n·m rows, m = outputs per sample:
///
///     contraction  Σ explicit parts   2·R_I·R_J·P_l        (R_I²·P_l on a diagonal tile: SYRK)
///                  + Σ Linear parts   2·R_I·R_J·out + 2·n_I·n_J·in + 2·R_I·R_J   (structured, Novak et al. 2022)
///                  + Σ structured Conv2d parts, per sample pair (n_I·n_J pairs; n(n+1)/2 on a
///                    diagonal tile) 2·L²·C_in·k² + 2·m·out·L² + 2·m²·out·L   (`ContractionChoice`)
///     Jacobian     (1 + 2m)·F·n_J     one block's forward pass plus m reverse passes
///                                     (input and parameter cotangents), F = forward FLOP per sample
///
/// Kernel variants (`NTKVariant`, m′ = 1 outputs per contraction for `trace` and `pseudo`):
/// `pseudo` contracts one row per sample (the formulas with m = 1) and its Jacobian is one
/// reverse pass per sample, (1 + 2)·F·n_J; `trace` pays the full Jacobian but m one-output
/// contractions (m × the formulas with m = 1); `diagonal` has only tiles I = J and contracts only
/// the n_I same-sample pairs (per sample `m²·P_l` explicit, `2·m²·out + 2·in + 2·m²` Linear, one
/// structured pair), with the full Jacobian.
///
/// The Jacobian term charges every tile with computing its column block (its row block on a
/// diagonal tile): the uncached cost, an upper bound when the memory budget leaves room to cache
/// column blocks. F counts 2·MAC of every Conv2d (`2·C_out·C_in/groups·k²·H'W'`) and Linear layer
/// plus one FLOP per output element of every other node.
public struct TileCostModel: Equatable, Sendable {
  /// Outputs per sample m.
  public let outputsPerSample: Int
  /// The kernel priced (`full` unless `ntk.kernel` says otherwise).
  public let variant: NTKVariant
  /// Forward FLOP per sample F.
  public let forwardFLOPPerSample: Double
  /// Σ P_l over parts contracted explicitly (every parameterised layer but Linear).
  public let explicitColumns: Double
  /// Σ out_l and Σ (in_l) over the Linear layers (contracted from their structure).
  public let linearOutputs: Double
  public let linearInputs: Double
  public let linearLayers: Double
  /// Σ over the Conv2d layers contracted through their structure of their FLOP per sample pair.
  public let structuredFLOPPerPair: Double

  /// The cost model of `model`'s tiles with each layer contracted as `choice` says (by default,
  /// as `TileSource` chooses for tiles of `tileSamples` samples a side: `ContractionChoice.make`).
  public init<T: BLASScalar>(model: Model<T>, choice: ContractionChoice, variant: NTKVariant = .full) {
    var forward = 0.0, explicit = 0.0, outputs = 0.0, inputs = 0.0, linears = 0.0, structured = 0.0
    let m = Double(variant.contractionOutputs(outputs: model.outputsPerSample))
    for (index, node) in model.nodes.enumerated() {
      let outputSize = Double(node.outputShape.reduce(1, *))
      if let conv = node.layer as? Conv2d<T> {
        let positions = Double(node.outputShape.dropFirst().reduce(1, *))
        forward += 2 * Double(conv.outChannels * (conv.inChannels / max(1, conv.groups)) * conv.kernelSize * conv.kernelSize) * positions
      } else if let linear = node.layer as? Linear<T> {
        forward += 2 * Double(linear.inputs * linear.outputs)
      } else {
        forward += outputSize
      }
      guard let layer = node.layer, layer.parameterCount > 0 else { continue }
      if let linear = layer as? Linear<T> {
        outputs += Double(linear.outputs)
        inputs += Double(linear.inputs)
        linears += 1
      } else if let conv = layer as? Conv2d<T>, choice.isStructured(node: index) {
        structured += StructuredConvContraction.pairFLOP(conv, input: model.inputShape(ofNode: index), outputsPerSample: Int(m))
      } else {
        explicit += Double(layer.parameterCount)
      }
    }
    outputsPerSample = model.outputsPerSample
    self.variant = variant
    forwardFLOPPerSample = forward
    explicitColumns = explicit
    linearOutputs = outputs
    linearInputs = inputs
    linearLayers = linears
    structuredFLOPPerPair = structured
  }

  /// The cost model for tiles of `tileSamples` samples a side over `sampleCount` samples, with
  /// the per-layer choice `TileSource` makes for them.
  public init<T: BLASScalar>(model: Model<T>, tileSamples: Int, sampleCount: Int, variant: NTKVariant = .full) {
    self.init(model: model, choice: ContractionChoice.make(model: model, tileSamples: min(tileSamples, max(1, sampleCount)),
                                                           outputs: variant.contractionOutputs(outputs: model.outputsPerSample)),
              variant: variant)
  }

  /// FLOP of contracting tile (I, J) of `rowSamples` × `columnSamples` samples.
  public func contractionFLOP(rowSamples: Int, columnSamples: Int, isDiagonal: Bool) -> Double {
    let m = Double(variant.contractionOutputs(outputs: outputsPerSample))
    let (nI, nJ) = (Double(rowSamples), Double(columnSamples))
    if variant == .diagonal {  // n_I same-sample pairs, each an [m, m] block
      return nI * (m * m * explicitColumns + 2 * m * m * linearOutputs + 2 * linearInputs + 2 * m * m * linearLayers
                   + structuredFLOPPerPair)
    }
    let repeats = variant == .trace ? Double(outputsPerSample) : 1  // trace: m one-output contractions
    let (rI, rJ) = (nI * m, nJ * m)
    let explicit = isDiagonal ? rI * rI * explicitColumns : 2 * rI * rJ * explicitColumns
    let linear = 2 * rI * rJ * linearOutputs + 2 * nI * nJ * linearInputs + 2 * rI * rJ * linearLayers
    let pairs = isDiagonal ? nI * (nI + 1) / 2 : nI * nJ
    return repeats * (explicit + linear + pairs * structuredFLOPPerPair)
  }

  /// FLOP of one Jacobian block of `samples` samples.
  public func jacobianFLOP(samples: Int) -> Double {
    (1 + 2 * Double(variant.jacobianOutputs(outputs: outputsPerSample))) * forwardFLOPPerSample * Double(samples)
  }

  /// FLOP of tile (I, J): contraction plus one block Jacobian (see the type's model).
  public func tileFLOP(rowSamples: Int, columnSamples: Int, isDiagonal: Bool) -> Double {
    contractionFLOP(rowSamples: rowSamples, columnSamples: columnSamples, isDiagonal: isDiagonal)
      + jacobianFLOP(samples: columnSamples)
  }
}
