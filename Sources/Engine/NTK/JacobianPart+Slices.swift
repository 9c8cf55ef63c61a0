extension JacobianPart {
  /// The rows of output (class) `a` alone, as a part of one output per sample: row s is row
  /// `s·m + a` of this part (`B·m` rows, m = `outputsPerSample`). Explicit rows and cotangents are
  /// copied (`B·P_l`, `B·out`, `B·out·L` scalars); a Linear part's inputs and a convolution's
  /// patches (or inputs) are shared, not copied. For the `trace` kernel's per-class contractions.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func output(_ a: Int, outputsPerSample m: Int, samples B: Int) -> JacobianPart<T> {
    switch self {
    case .explicit(let width, let values):
      return .explicit(columns: width, values: Self.rows(values, width: width, count: B) { $0 * m + a })
    case .linear(let outputs, let inputs, let hasBias, let delta, let input):
      return .linear(outputs: outputs, inputs: inputs, hasBias: hasBias,
                     delta: Self.rows(delta, width: outputs, count: B) { $0 * m + a }, input: input)
    case .convolution(let f):
      let width = f.groupOutputs * f.positions
      var delta: [T] = []
      delta.reserveCapacity(f.groups * B * width)
      for g in 0..<f.groups {
        delta += Self.rows(f.delta, width: width, count: B) { g * f.rows + $0 * m + a }
      }
      return .convolution(ConvolutionFactors(outputs: f.outputs, groups: f.groups, groupPatch: f.groupPatch,
                                             positions: f.positions, hasBias: f.hasBias, samples: B, rows: B,
                                             delta: delta, patches: f.patchesOrInputs, patchGram: f.patchGram))
    }
  }

  /// Sample `s`'s m rows alone, as a part of one sample (rows `s·m ..< s·m + m` of this part;
  /// a Linear part's input row s, a convolution's patches — or inputs — of sample s). Copies them. For the
  /// `diagonal` kernel's per-sample blocks k(x_s, x_s).
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func sample(_ s: Int, outputsPerSample m: Int, samples B: Int) -> JacobianPart<T> {
    switch self {
    case .explicit(let width, let values):
      return .explicit(columns: width, values: Array(values[(s * m * width)..<((s + 1) * m * width)]))
    case .linear(let outputs, let inputs, let hasBias, let delta, let input):
      return .linear(outputs: outputs, inputs: inputs, hasBias: hasBias,
                     delta: Array(delta[(s * m * outputs)..<((s + 1) * m * outputs)]),
                     input: Array(input[(s * inputs)..<((s + 1) * inputs)]))
    case .convolution(let f):
      let width = f.groupOutputs * f.positions, L = f.positions
      var delta: [T] = []
      delta.reserveCapacity(f.groups * m * width)
      for g in 0..<f.groups {
        let start = (g * f.rows + s * m) * width
        delta += f.delta[start..<(start + m * width)]
      }
      // Per patch row (or, with a patch Gram, per input channel) sample s's stretch.
      let (held, stretch) = f.patchGram.map { ($0.channels, $0.inputPositions) } ?? (f.groups * f.groupPatch, L)
      let source = f.patchesOrInputs
      var patches: [T] = []
      patches.reserveCapacity(held * stretch)
      for k in 0..<held {
        let start = k * B * stretch + s * stretch
        patches += source[start..<(start + stretch)]
      }
      return .convolution(ConvolutionFactors(outputs: f.outputs, groups: f.groups, groupPatch: f.groupPatch,
                                             positions: L, hasBias: f.hasBias, samples: 1, rows: m,
                                             delta: delta, patches: patches, patchGram: f.patchGram))
    }
  }

  /// Rows `source(r)` for r in 0..<count of the row-major `[_, width]` array `values`.
  private static func rows(_ values: [T], width: Int, count: Int, source: (Int) -> Int) -> [T] {
    var result = [T](repeating: 0, count: count * width)
    result.withUnsafeMutableBufferPointer { out in
      values.withUnsafeBufferPointer { v in
        for r in 0..<count {
          (out.baseAddress! + r * width).update(from: v.baseAddress! + source(r) * width, count: width)
        }
      }
    }
    return result
  }
}
