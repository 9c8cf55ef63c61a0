extension Model {
  /// The Jacobian block of a batch of B samples: the `B·m` rows `∂f_a(x_s)/∂θ` (row `s·m + a`).
  ///
  /// One forward pass keeps the activations; one batched reverse pass is seeded with the `B·m`
  /// one-hot cotangents (row `s·m + a` has a 1 at logit `a`), the activations of sample `s` being
  /// shared by its m rows by index. Each parameterised layer contributes one `JacobianPart`,
  /// explicit `[B·m, P_l]` or, for `Linear` when `structured`, factored as (δ `[B·m, out]`, h `[B, in]`).
  /// Cost: about one forward pass plus m backward passes per sample.
  /// Throws `EngineError.shapeMismatch` if `inputs` is not `[B, 3, 32, 32]`.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func jacobian(inputs: Tensor<T>, structured: Bool = true, cancellation: TileCancellation? = nil) throws -> JacobianBlock<T> {
    try jacobian(inputs: inputs, choice: structured ? .linearOnly(model: self) : .allExplicit(model: self), cancellation: cancellation)
  }

  /// As `jacobian(inputs:structured:)`, with each parameterised layer explicit or factored as
  /// `choice` says (`ContractionChoice`: structured Linear and Conv2d parts). `cancellation` is
  /// checked between layers (throws `EngineError.cancelled` once cancelled).
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func jacobian(inputs: Tensor<T>, choice: ContractionChoice, cancellation: TileCancellation? = nil) throws -> JacobianBlock<T> {
    try jacobian(inputs: inputs, choice: choice, variant: .full, cancellation: cancellation)
  }

  /// As `jacobian(inputs:choice:)` for the rows `variant` contracts: for `.pseudo` the one row
  /// per sample of `f̄ = Σ_a f_a/√m` (`outputsPerSample` 1: one reverse pass seeded with
  /// `(1/√m)·(1, …, 1)`, Mohamadi, Bae & Sutherland, ICML 2023); otherwise the `B·m` rows of
  /// `jacobian(inputs:choice:)`.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func jacobian(inputs: Tensor<T>, choice: ContractionChoice, variant: NTKVariant,
                       cancellation: TileCancellation? = nil) throws -> JacobianBlock<T> {
    let acts = try activations(inputs: inputs, cancellation: cancellation)
    let m = variant.jacobianOutputs(outputs: outputsPerSample)
    let samples = inputs.batchSize
    let rows = samples * m
    let seed = logitSeed(samples: samples, variant: variant)
    var parts = [JacobianPart<T>?](repeating: nil, count: nodes.count)
    // Recycled cotangents and scratch for this block's reverse pass, released with it; a structured
    // part keeps its layer's output cotangents, which therefore stay out of the pool.
    let pool = BufferPool<T>(capacity: reversePoolScalarCount(samples: samples))
    stateValues.withUnsafeBufferPointer { state in
      _ = backpropagate(inputs: inputs, activations: acts, seed: seed, repeats: m, needInputCotangent: false,
                        pool: pool, keepsCotangent: { choice.isStructured(node: $0) }, cancellation: cancellation) {
        index, input, cotangent in
        let node = nodes[index]
        let layer = node.layer!
        parts[index] = layer.jacobianPart(
          input: input, outputCotangent: cotangent, repeats: m, state: slice(state, node, layer),
          structured: choice.isStructured(node: index))
      }
    }
    try cancellation?.check()
    // Parts in parameter order; a layer the cotangent never reached contributes zero rows.
    var ordered: [JacobianPart<T>] = []
    for (index, node) in nodes.enumerated() {
      guard let layer = node.layer, layer.parameterCount > 0 else { continue }
      ordered.append(parts[index] ?? .explicit(columns: layer.parameterCount, values: [T](repeating: 0, count: rows * layer.parameterCount)))
    }
    return JacobianBlock(sampleCount: samples, outputsPerSample: m, parts: ordered)
  }

  /// Cotangents of the logits seeding the reverse pass, `[B·m′, m]` (m′ rows per sample):
  /// one-hot rows `s·m + a` (m′ = m) for every variant but `.pseudo`, whose one row per sample is
  /// `(1/√m)·(1, …, 1)` (m′ = 1).
  func logitSeed(samples: Int, variant: NTKVariant) -> Tensor<T> {
    let m = outputsPerSample
    let perSample = variant.jacobianOutputs(outputs: m)
    let rows = samples * perSample
    var seed = Tensor<T>(zeros: [rows, m])
    seed.storage.withUnsafeMutableBufferPointer { s in
      if variant == .pseudo {
        let value = T(1 / Double(m).squareRoot())
        for i in 0..<(rows * m) { s[i] = value }
      } else {
        for r in 0..<rows { s[r * m + r % m] = 1 }
      }
    }
    return seed
  }
}

extension Model {
  /// Scalars held by the `JacobianBlock` of `samples` samples: `R·P_l` per explicit part and
  /// `R·out + B·in` per structured `Linear` part (R = samples·m). Multiply by
  /// `MemoryLayout<T>.size` for bytes. For sizing tiles: the caller keeps one row block and one
  /// column block (plus the tile, `R_I·R_J` scalars). Transient activations and cotangents of the
  /// reverse pass, about `R·max_l(size of layer l's output)` scalars, come on top.
  public func jacobianScalarCount(samples: Int, structured: Bool = true) -> Int {
    jacobianScalarCount(samples: samples, choice: structured ? .linearOnly(model: self) : .allExplicit(model: self))
  }

  /// As `jacobianScalarCount(samples:structured:)` for the parts `choice` gives: structured Conv2d
  /// parts count `R·out·L + B·in·k²·L`, or `R·out·L + B·in·H·W` where they hold the inputs
  /// (`ConvolutionFactors`, `PatchGram`).
  /// `outputs`: Jacobian rows per sample (m; 1 for the `pseudo` kernel's blocks).
  public func jacobianScalarCount(samples: Int, choice: ContractionChoice, outputs: Int? = nil) -> Int {
    var total = 0
    for (index, node) in nodes.enumerated() {
      guard node.layer != nil, node.layer!.parameterCount > 0 else { continue }
      total += partScalarCount(node: index, samples: samples, structured: choice.isStructured(node: index), outputs: outputs)
    }
    return total
  }

  /// Scalars of one parameterised node's Jacobian part for `samples` samples (`outputs` rows per
  /// sample, default m).
  func partScalarCount(node index: Int, samples: Int, structured: Bool, outputs: Int? = nil) -> Int {
    let node = nodes[index]
    let layer = node.layer!
    let rows = samples * (outputs ?? outputsPerSample)
    if structured, let linear = layer as? Linear<T> {
      return rows * linear.outputs + samples * linear.inputs
    }
    if structured, let conv = layer as? Conv2d<T> {
      let L = node.outputShape.dropFirst().reduce(1, *)
      let input = inputShape(ofNode: index)
      let held = conv.patchGram(inputHeight: input[1], width: input[2]) == nil ? conv.inChannels * conv.kernelSize * conv.kernelSize * L : input.reduce(1, *)
      return rows * conv.outChannels * L + samples * held
    }
    return rows * layer.parameterCount
  }
}
