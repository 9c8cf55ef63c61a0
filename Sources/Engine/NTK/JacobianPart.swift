/// The Jacobian rows of one parameterised layer, for a block of `R = B · m` rows (row `r` = sample
/// `r / m`, class `r % m`), either explicit or in a layer's factored form.
public enum JacobianPart<T: BLASScalar> {
  /// Explicit rows: `values` is `[R, columns]` row-major, columns in the layer's parameter order.
  case explicit(columns: Int, values: [T])

  /// A `Linear(in, out)` layer `y = h Wᵀ + b`: row `r` of its Jacobian is
  /// `[δ_r ⊗ h_{r/m}, δ_r]` (weight `out × in` row-major, then bias if present), with
  /// `delta` the backpropagated output gradients `[R, out]` and `input` the layer inputs `[B, in]`
  /// (shared with the forward activations, not copied). Novak, Sohl-Dickstein & Schoenholz,
  /// "Fast Finite Width Neural Tangent Kernel" (ICML 2022), structured derivatives.
  case linear(outputs: Int, inputs: Int, hasBias: Bool, delta: [T], input: [T])

  /// A `Conv2d` layer in factored form: cotangents and im2col patches (`ConvolutionFactors`),
  /// contracted by `StructuredConvContraction` where `ContractionChoice` finds it cheaper.
  case convolution(ConvolutionFactors<T>)
}

extension JacobianPart {
  /// Number of Jacobian columns (trainable scalars) this part covers.
  public var columns: Int {
    switch self {
    case .explicit(let columns, _): return columns
    case .linear(let outputs, let inputs, let hasBias, _, _): return outputs * inputs + (hasBias ? outputs : 0)
    case .convolution(let factors): return factors.columns
    }
  }

  /// Scalars this part holds.
  public var scalarCount: Int {
    switch self {
    case .explicit(_, let values): return values.count
    case .linear(_, _, _, let delta, let input): return delta.count + input.count
    case .convolution(let factors): return factors.scalarCount
    }
  }

  /// The explicit rows `[R, columns]`, materialising a factored part (for tests and small layers).
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func explicitRows(rowCount: Int, repeats: Int) -> [T] {
    switch self {
    case .explicit(_, let values):
      return values
    case .convolution(let factors):
      return factors.explicitRows(repeats: repeats)
    case .linear(let outputs, let inputs, let hasBias, let delta, let input):
      let width = columns
      var rows = [T](repeating: 0, count: rowCount * width)
      rows.withUnsafeMutableBufferPointer { j in
        delta.withUnsafeBufferPointer { d in
          input.withUnsafeBufferPointer { h in
            for r in 0..<rowCount {
              let row = j.baseAddress! + r * width
              let hs = h.baseAddress! + (r / repeats) * inputs
              for o in 0..<outputs {
                let dro = d[r * outputs + o]
                let w = row + o * inputs
                for i in 0..<inputs { w[i] = dro * hs[i] }
                if hasBias { row[outputs * inputs + o] = dro }
              }
            }
          }
        }
      }
      return rows
    }
  }
}
