extension Model {
  /// The reverse pass through the graph for `R = B · repeats` cotangent rows.
  ///
  /// - Parameters:
  ///   - inputs: the batch `[B, 3, 32, 32]`; `activations` its node outputs from `activations(inputs:)`.
  ///   - seed: cotangents of the logits, `[B·repeats, 10]`; row `r` belongs to sample `r / repeats`.
  ///   - visit: called once per layer node that has parameters, with the node index, the layer's
  ///     input activations `[B, …]`, and its output cotangents `[B·repeats, …]`.
  ///   - needInputCotangent: whether to return `∂/∂inputs`, `[B·repeats, 3, 32, 32]`.
  ///   - layers: per node index, a layer to use in place of the node's own (same state layout),
  ///     e.g. BatchNorm with the batch's statistics in training mode; `nil` = the nodes' layers.
  ///   - pool: recycled buffers (`BufferPool`): layers take their new cotangents and scratch from
  ///     it, and each output cotangent a layer has consumed goes back to it — except at the nodes
  ///     for which `keepsCotangent` is true, whose `visit` keeps a reference to it (a structured
  ///     Jacobian part holds its cotangents; giving such a buffer back would only cost a copy).
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  func backpropagate(
    inputs: Tensor<T>, activations: [Tensor<T>], seed: Tensor<T>, repeats: Int, needInputCotangent: Bool,
    layers: [(any Layer<T>)?]? = nil, pool: BufferPool<T>? = nil, keepsCotangent: (Int) -> Bool = { _ in false },
    cancellation: TileCancellation? = nil, visit: (Int, Tensor<T>, Tensor<T>) -> Void
  ) -> Tensor<T>? {
    var cotangents = [Tensor<T>?](repeating: nil, count: nodes.count)
    cotangents[nodes.count - 1] = seed
    var inputCotangent: Tensor<T>? = nil
    // Nodes whose pending cotangent an add node also handed, uncopied, to another receiver: its
    // buffer may be referenced twice, so it does not go back to the pool.
    var shared = Set<Int>()

    // `owned`: nothing else references `cotangent`, so that once added to a pending sum its buffer
    // can go back to the pool.
    func deliver(_ cotangent: Tensor<T>, to index: Int, owned: Bool = false) {
      if index == ModelNode<T>.modelInput {
        guard needInputCotangent else { return }
        inputCotangent = accumulate(inputCotangent, cotangent)
      } else {
        // Take the pending sum out of its slot first, so that it is uniquely referenced and the
        // addition runs in place (no copy of a `[B·repeats, …]` tensor).
        guard var sum = cotangents[index] else {
          cotangents[index] = cotangent
          return
        }
        cotangents[index] = nil
        sum.storage.withUnsafeMutableBufferPointer { s in
          cotangent.storage.withUnsafeBufferPointer { a in
            T.axpy(n: s.count, alpha: 1, x: a.baseAddress!, y: s.baseAddress!)
          }
        }
        cotangents[index] = sum
        shared.remove(index)  // the sum was written, so its buffer is now this slot's alone
        if owned { pool?.give(cotangent.storage) }
      }
    }
    // A node's cotangent is needed only if something upstream of it has parameters or the input is wanted.
    let needed = nodesNeedingCotangent(needInputCotangent: needInputCotangent)

    stateValues.withUnsafeBufferPointer { state in
      for index in stride(from: nodes.count - 1, through: 0, by: -1) {
        if cancellation?.isCancelled == true { break }  // the caller throws; results are discarded
        guard var cotangent = cotangents[index] else { continue }
        cotangents[index] = nil  // release as we go (and leave `cotangent` uniquely referenced)
        let recyclable = pool != nil && shared.remove(index) == nil && !keepsCotangent(index)
        let node = nodes[index]
        let sources = node.inputs.map { $0 == ModelNode<T>.modelInput ? inputs : activations[$0] }
        switch node.operation {
        case .layer(let nodeLayer):
          let layer = layers?[index] ?? nodeLayer
          let layerState = slice(state, node, layer)
          if layer.parameterCount > 0 { visit(index, sources[0], cotangent) }
          if needed(node.inputs[0]) {
            // Elementwise layers (ReLU, BatchNorm) overwrite the cotangent in place.
            if layer.inputCotangentInPlace(
              input: sources[0], output: activations[index], cotangent: &cotangent, repeats: repeats, state: layerState)
            {
              deliver(cotangent, to: node.inputs[0], owned: recyclable)
            } else {
              let result = layer.inputCotangent(
                input: sources[0], output: activations[index], outputCotangent: cotangent, repeats: repeats,
                state: layerState, pool: pool)
              if recyclable {
                pool?.give(cotangent.storage)
                cotangent.storage = []  // the pool holds the only reference
              }
              deliver(result, to: node.inputs[0], owned: true)
            }
          }
        case .add:
          // Every needed source receives the same cotangent. A receiver that overwrites it in place
          // (ReLU, BatchNorm) while another still holds it would make Swift copy it on one core:
          // such receivers get a copy made on all cores instead — all but the one processed last
          // (lowest node index), which by then holds the only reference.
          let receivers = node.inputs.filter(needed)
          let last = receivers.filter { $0 != ModelNode<T>.modelInput && cotangents[$0] == nil }.min()
          var uncopied: [Int] = []
          for source in receivers {
            if source != last, source != ModelNode<T>.modelInput, cotangents[source] == nil,
               overwritesCotangent(source, layers: layers)
            {
              deliver(parallelCopy(cotangent, pool: pool), to: source)
            } else {
              if source != ModelNode<T>.modelInput, cotangents[source] == nil { uncopied.append(source) }  // stored, not summed
              deliver(cotangent, to: source)
            }
          }
          if uncopied.count > 1 { shared.formUnion(uncopied) }
        case .concat:
          var offset = 0
          for (k, source) in node.inputs.enumerated() {
            let size = sources[k].sampleSize
            if needed(source) {
              deliver(channelSlice(cotangent, offset: offset, size: size, sampleShape: sources[k].sampleShape), to: source)
            }
            offset += size
          }
        }
      }
    }
    return inputCotangent
  }

  /// For each node index (or the model input), whether its output cotangent is used.
  private func nodesNeedingCotangent(needInputCotangent: Bool) -> (Int) -> Bool {
    // needed[i]: node i or any node feeding it (transitively) has parameters.
    var hasParametersUpstream = [Bool](repeating: false, count: nodes.count)
    for (i, node) in nodes.enumerated() {
      var flag = (node.layer?.parameterCount ?? 0) > 0
      for source in node.inputs where source != ModelNode<T>.modelInput { flag = flag || hasParametersUpstream[source] }
      if needInputCotangent { flag = true }
      hasParametersUpstream[i] = flag
    }
    return { index in index == ModelNode<T>.modelInput ? needInputCotangent : hasParametersUpstream[index] }
  }

  /// Whether node `index` is a layer whose reverse pass overwrites its output cotangent in place.
  private func overwritesCotangent(_ index: Int, layers: [(any Layer<T>)?]?) -> Bool {
    guard case .layer(let nodeLayer) = nodes[index].operation else { return false }
    return (layers?[index] ?? nodeLayer) is any InPlaceCotangentLayer
  }

  /// A copy of `tensor`, its rows copied on all cores, into a buffer from `pool` when given.
  private func parallelCopy(_ tensor: Tensor<T>, pool: BufferPool<T>?) -> Tensor<T> {
    var copy = Tensor<T>(uninitialized: tensor.shape, pool: pool)
    let width = tensor.sampleSize
    tensor.storage.withUnsafeBufferPointer { x in
      copy.storage.withUnsafeMutableBufferPointer { y in
        ParallelRows.forEach(tensor.batchSize, scalars: tensor.count) { rows in
          (y.baseAddress! + rows.lowerBound * width).update(from: x.baseAddress! + rows.lowerBound * width, count: rows.count * width)
        }
      }
    }
    return copy
  }

  private func accumulate(_ existing: Tensor<T>?, _ addition: Tensor<T>) -> Tensor<T> {
    guard var sum = existing else { return addition }
    sum.storage.withUnsafeMutableBufferPointer { s in
      addition.storage.withUnsafeBufferPointer { a in
        T.axpy(n: s.count, alpha: 1, x: a.baseAddress!, y: s.baseAddress!)
      }
    }
    return sum
  }

  /// Rows of `[R, total]` restricted to elements `offset ..< offset + size`, as `[R] + sampleShape`.
  private func channelSlice(_ cotangent: Tensor<T>, offset: Int, size: Int, sampleShape: [Int]) -> Tensor<T> {
    let rows = cotangent.batchSize
    let total = cotangent.sampleSize
    var result = Tensor<T>(zeros: [rows] + sampleShape)
    cotangent.storage.withUnsafeBufferPointer { c in
      result.storage.withUnsafeMutableBufferPointer { r in
        for row in 0..<rows {
          (r.baseAddress! + row * size).update(from: c.baseAddress! + row * total + offset, count: size)
        }
      }
    }
    return result
  }
}
