extension Conv2d {
  /// How the structured contraction forms this layer's patch Gram on inputs `[in, height, width]`:
  /// from the inputs (`PatchGram`, where that applies and is cheaper), else `nil`: from the patches.
  public func patchGram(inputHeight height: Int, width: Int) -> PatchGram? {
    PatchGram.make(channels: inChannels, height: height, width: width, kernel: kernelSize, stride: stride,
                   padding: padding, groups: groups)
  }

  /// The layer's Jacobian rows in factored form (`ConvolutionFactors`): the output cotangents
  /// `[R, out, H', W']` regrouped as `[g][R][out_g·H'W']` (no copy for one group) and the im2col
  /// patches of all B samples at once, `[in·k·k, B·H'W']` (`writeColumns` per sample, side
  /// by side) — or, where the patch Gram is formed from the inputs (`patchGram(inputHeight:width:)`),
  /// the inputs `[in, B·H·W]`. Costs a copy of `B·in·k²·L` (or `B·in·H·W`) scalars, no GEMM.
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
    let gram = patchGram(inputHeight: g.height, width: g.width)
    let HW = g.height * g.width
    let count = gram == nil ? K * ld : inChannels * batch * HW
    var patches = [Scalar](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    input.storage.withUnsafeBufferPointer { x in
      patches.withUnsafeMutableBufferPointer { u in
        ParallelRows.forEach(batch, scalars: count) { samples in
          for n in samples {
            if gram != nil {  // [B, in, H·W] → [in, B·H·W]
              for c in 0..<inChannels {
                (u.baseAddress! + c * batch * HW + n * HW).update(from: x.baseAddress! + n * g.inputSize + c * HW, count: HW)
              }
            } else {
              writeColumns(of: x.baseAddress! + n * g.inputSize, geometry: g, into: u.baseAddress! + n * L, rowStride: ld)
            }
          }
        }
      }
    }
    var delta = outputCotangent.storage
    if groups > 1 {
      let outG = groupOutputs
      let total = outputCotangent.storage.count
      delta = [Scalar](unsafeUninitializedCapacity: total) { _, initialized in initialized = total }
      outputCotangent.storage.withUnsafeBufferPointer { d in
        delta.withUnsafeMutableBufferPointer { e in
          ParallelRows.forEach(rows, scalars: total) { range in
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
      samples: batch, rows: rows, delta: delta, patches: patches, patchGram: gram)
  }
}
