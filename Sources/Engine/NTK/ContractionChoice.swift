/// Which contraction each parameterised layer uses in a tile: its explicit Jacobian rows or its
/// structure (Novak, Sohl-Dickstein & Schoenholz, "Fast Finite Width Neural Tangent Kernel",
/// ICML 2022, "structured derivatives"), chosen per layer by a FLOP model for tiles of t samples
/// a side (R = t·m rows, m = 10 outputs).
///
/// FLOP per off-diagonal tile (a diagonal tile costs about half of either):
///
///     explicit  (any layer, P_l columns)      2·R²·P_l  +  2·R·P_l·L          contraction + one block's rows
///     Linear(in, out), structured             2·R²·out + 2·t²·in + 2·R²        δδᵀ, hhᵀ, combine
///     Conv2d, structured (L = H'·W' output    t²·(2·L²·C_in·k²                 M = U_x U_yᵀ per pair (+1: bias),
///       positions, groups g, out_g = out/g)                                    or with a PatchGram (stride 1,
///                                                                              one group) 2·(H·W)²·C_in + k²·L²
///                                                  + 2·m·out·L²                Z = δ_x M, per class a
///                                                  + 2·m²·out·L)               G += Z δ_yᵀ
///                                             + 1e5 · (2·t²·g + t·g)           per BLAS call (small GEMMs)
///
/// and the structure is used where it is cheaper. For Conv2d, of the orders of the sum
/// `Σ_o Σ_{s,t} δ_xa[o,s] (U_x U_yᵀ)[s,t] δ_yb[o,t]`, forming the `[L, L]` patch Gram first and
/// then contracting with each side's cotangents is cheapest for m ≥ 2 (the other order, channels
/// first, costs `2·m²·out·L²` per pair), so it is the one implemented (`StructuredConvContraction`).
/// Examples (t = 64): ResNet18 at width 16, last stage (L = 16, 128 channels): explicit 29.5 M,
/// structured 1.2 M FLOP per sample pair (1.7 M with the patches' Gram) — structured; its third
/// stage (L = 64, 64 channels): explicit 7.4 M, structured 6.4 M with the input Gram (10.8 M
/// without) — structured; its first stage (L = 1,024): explicit.
/// LeNet's convolutions (L = 784 and 100): explicit. `BatchNorm2d` (2·C columns) and layers with
/// another structure always stay explicit: their explicit rows are narrower than any factor.
///
/// Memory held per block of B samples: explicit `B·m·P_l`; structured Linear `B·m·out + B·in`;
/// structured Conv2d `B·m·out·L` (cotangents) `+ B·C_in·k²·L` (im2col patches of the whole block,
/// `[C_in·k², B·L]`), or with a `PatchGram` `+ B·C_in·H·W` (its inputs). The choice depends only on the model and t, so every block of a run holds
/// each layer the same way and a tile's bytes depend only on its blocks.
public struct ContractionChoice: Equatable, Sendable {
  /// One parameterised layer's choice.
  public struct Layer: Equatable, Sendable {
    /// Node index in `Model.nodes` and module path (e.g. `layer4.0.conv1`).
    public let node: Int
    public let path: String
    /// `true`: structured contraction; `false`: explicit rows.
    public let structured: Bool
    /// Modelled FLOP per off-diagonal tile of each way (structured = explicit when the layer has no
    /// structured form).
    public let explicitFLOP: Double
    public let structuredFLOP: Double
  }

  /// Samples per tile side the choice was made for.
  public let tileSamples: Int
  /// Parameterised layers in parameter order.
  public let layers: [Layer]

  /// Per-call cost of a small BLAS call in the model, as FLOP-equivalents.
  public static let callFLOP = 1e5

  /// Whether node `index` is contracted through its structure.
  public func isStructured(node index: Int) -> Bool {
    layers.first { $0.node == index }?.structured ?? false
  }

  /// Modelled FLOP per off-diagonal tile with this choice.
  public var chosenFLOP: Double { layers.reduce(0) { $0 + ($1.structured ? $1.structuredFLOP : $1.explicitFLOP) } }
  /// Modelled FLOP per off-diagonal tile with every layer explicit.
  public var explicitFLOP: Double { layers.reduce(0) { $0 + $1.explicitFLOP } }

  /// One line for progress output: `structured: a, b, … (k of n layers); explicit: …; model FLOP/tile x → y`.
  public var summary: String {
    let structured = layers.filter(\.structured).map(\.path)
    let explicit = layers.filter { !$0.structured }.map(\.path)
    func list(_ names: [String]) -> String { names.isEmpty ? "none" : names.joined(separator: ",") }
    return "contraction (t=\(tileSamples)): structured \(structured.count)/\(layers.count) [\(list(structured))]; "
      + "explicit [\(list(explicit))]; model GFLOP/tile \(gflop(explicitFLOP)) -> \(gflop(chosenFLOP))"
  }

  private func gflop(_ value: Double) -> String {
    let g = value / 1e9
    return g >= 10 ? String(Int(g.rounded())) : String(Double(Int(g * 1000)) / 1000)
  }

  /// The choice for tiles of `tileSamples` samples a side under the FLOP model above.
  public static func make<T: BLASScalar>(model: Model<T>, tileSamples: Int) -> ContractionChoice {
    make(model: model, tileSamples: tileSamples, outputs: model.outputsPerSample)
  }

  /// The choice for contractions with `outputs` rows per sample (m above): 1 for the `trace` and
  /// `pseudo` kernels (`NTKVariant.contractionOutputs`), where explicit rows cost m² times less
  /// per sample pair and the structure pays off only for the smallest L.
  public static func make<T: BLASScalar>(model: Model<T>, tileSamples: Int, outputs: Int) -> ContractionChoice {
    let t = Double(max(1, tileSamples))
    let m = Double(max(1, outputs))
    let R = t * m
    var layers: [Layer] = []
    for (index, node) in model.nodes.enumerated() {
      guard let layer = node.layer, layer.parameterCount > 0 else { continue }
      let P = Double(layer.parameterCount)
      let L = Double(node.outputShape.dropFirst().reduce(1, *))  // output positions (1 for Linear)
      let explicit = 2 * R * R * P + 2 * R * P * L
      var structured = explicit
      if let linear = layer as? Linear<T> {
        structured = 2 * R * R * Double(linear.outputs) + 2 * t * t * Double(linear.inputs) + 2 * R * R
      } else if let conv = layer as? Conv2d<T> {
        let g = Double(conv.groups)
        structured = t * t * StructuredConvContraction.pairFLOP(conv, input: model.inputShape(ofNode: index), outputsPerSample: Int(m))
          + callFLOP * (2 * t * t * g + t * g)
      }
      layers.append(Layer(node: index, path: node.path, structured: structured < explicit,
                          explicitFLOP: explicit, structuredFLOP: structured))
    }
    return ContractionChoice(tileSamples: tileSamples, layers: layers)
  }

  /// Structured `Linear` only, every other layer explicit (the contraction before per-layer choice;
  /// `Model.jacobian(inputs:structured: true)`).
  public static func linearOnly<T: BLASScalar>(model: Model<T>, tileSamples: Int = 1) -> ContractionChoice {
    choice(model, tileSamples) { $0 is Linear<T> }
  }

  /// Every layer explicit (`Model.jacobian(inputs:structured: false)`).
  public static func allExplicit<T: BLASScalar>(model: Model<T>, tileSamples: Int = 1) -> ContractionChoice {
    choice(model, tileSamples) { _ in false }
  }

  /// Every layer that has a structured form (Linear, Conv2d) structured: for tests.
  public static func allStructured<T: BLASScalar>(model: Model<T>, tileSamples: Int = 1) -> ContractionChoice {
    choice(model, tileSamples) { $0 is Linear<T> || $0 is Conv2d<T> }
  }

  private static func choice<T: BLASScalar>(
    _ model: Model<T>, _ tileSamples: Int, _ structured: (any Engine.Layer<T>) -> Bool
  ) -> ContractionChoice {
    let modelled = make(model: model, tileSamples: tileSamples)
    return ContractionChoice(tileSamples: tileSamples, layers: modelled.layers.map { layer in
      Layer(node: layer.node, path: layer.path, structured: structured(model.nodes[layer.node].layer!),
            explicitFLOP: layer.explicitFLOP, structuredFLOP: layer.structuredFLOP)
    })
  }
}
