extension Conv2d {
  /// The layer's Jacobian rows in factored form (`ConvolutionFactors`): the output cotangents
  /// `[R, out, H', W']` regrouped as `[g][R][out_g·H'W']` (no copy for one group) and the im2col
  /// patches of all B samples at once, `[in·k·k, B·H'W']` (`writeColumns` per sample, side
  /// by side). Costs a copy of `B·in·k²·L` scalars, no GEMM.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func structuredJacobianPart(
    input: Tensor<Scalar>, outputCotangent: Tensor<Scalar>, repeats: Int
  ) -> ConvolutionFactors<Scalar> {
    let g = geometry(input)
    let L = g.positions
    let batch = input.batchSize
    let rows = outputCotangent.batchSize
    let K = inChannels * kernelSize * kernelSize
    let ld = batch * L
    var patches = [Scalar](unsafeUninitializedCapacity: K * ld) { _, count in count = K * ld }
    input.storage.withUnsafeBufferPointer { x in
      patches.withUnsafeMutableBufferPointer { u in
        ParallelRows.forEach(batch, scalars: K * ld) { samples in
          for n in samples {
            writeColumns(of: x.baseAddress! + n * g.inputSize, geometry: g, into: u.baseAddress! + n * L, rowStride: ld)
          }
        }
      }
    }
    var delta = outputCotangent.storage
    if groups > 1 {
      let outG = groupOutputs
      let count = outputCotangent.storage.count
      delta = [Scalar](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
      outputCotangent.storage.withUnsafeBufferPointer { d in
        delta.withUnsafeMutableBufferPointer { e in
          ParallelRows.forEach(rows, scalars: count) { range in
            for grp in 0..<groups {
              for r in range {
                (e.baseAddress! + (grp * rows + r) * outG * L)
                  .update(from: d.baseAddress! + (r * outChannels + grp * outG) * L, count: outG * L)
              }
            }
          }
        }
      }
    }
    return ConvolutionFactors(
      outputs: outChannels, groups: groups, groupPatch: groupPatch, positions: L, hasBias: hasBias,
      samples: batch, rows: rows, delta: delta, patches: patches)
  }
}
