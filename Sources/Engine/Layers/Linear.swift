/// A fully connected layer, PyTorch `nn.Linear(in, out, bias)`:
///
///     y = x Wᵀ + b,   x `[B, in]`, W `[out, in]`, b `[out]`, y `[B, out]`
///
/// Reverse pass for cotangent rows δ `[R, out]` (row `r` ↔ sample `r / repeats`):
/// `∂x = δ W` `[R, in]`, `∂W = Σ_r δ_rᵀ x_{r/repeats}`, `∂b = Σ_r δ_r`.
/// Its per-row Jacobian `[δ_r ⊗ x_{r/repeats}, δ_r]` is returned factored (`JacobianPart.linear`).
/// State: `weight` `[out, in]`, `bias` `[out]`; both initialised uniform on ±1/√in.
public struct Linear<Scalar: BLASScalar>: Layer {
  public let inputs: Int
  public let outputs: Int
  public let hasBias: Bool

  public init(_ inputs: Int, _ outputs: Int, bias: Bool = true) {
    self.inputs = inputs
    self.outputs = outputs
    self.hasBias = bias
  }

  public var stateSpecs: [LayerStateSpec] {
    hasBias ? [LayerStateSpec("weight", [outputs, inputs]), LayerStateSpec("bias", [outputs])]
      : [LayerStateSpec("weight", [outputs, inputs])]
  }

  public func outputShape(forInput shape: [Int]) throws -> [Int] {
    guard shape == [inputs] else {
      throw EngineError(.shapeMismatch, "Linear(\(inputs), \(outputs)) expects input [\(inputs)], found \(shape)")
    }
    return [outputs]
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ input: Tensor<Scalar>, state: UnsafeBufferPointer<Scalar>) -> Tensor<Scalar> {
    let batch = input.batchSize
    var output = Tensor<Scalar>(zeros: [batch, outputs])
    let (inputs, outputs, hasBias) = (self.inputs, self.outputs, self.hasBias)
    input.storage.withUnsafeBufferPointer { x in
      output.storage.withUnsafeMutableBufferPointer { y in
        let w = state.baseAddress!
        if hasBias {
          for n in 0..<batch { (y.baseAddress! + n * outputs).update(from: w + outputs * inputs, count: outputs) }
        }
        Scalar.gemm(
          transposeA: false, transposeB: true, m: batch, n: outputs, k: inputs,
          alpha: 1, a: x.baseAddress!, lda: inputs, b: w, ldb: inputs,
          beta: hasBias ? 1 : 0, c: y.baseAddress!, ldc: outputs)
      }
    }
    return output
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func inputCotangent(
    input: Tensor<Scalar>, output: Tensor<Scalar>, outputCotangent: Tensor<Scalar>,
    repeats: Int, state: UnsafeBufferPointer<Scalar>
  ) -> Tensor<Scalar> {
    let rows = outputCotangent.batchSize
    var result = Tensor<Scalar>(zeros: [rows, inputs])
    outputCotangent.storage.withUnsafeBufferPointer { d in
      result.storage.withUnsafeMutableBufferPointer { dx in
        Scalar.gemm(
          transposeA: false, transposeB: false, m: rows, n: inputs, k: outputs,
          alpha: 1, a: d.baseAddress!, lda: outputs, b: state.baseAddress!, ldb: inputs,
          beta: 0, c: dx.baseAddress!, ldc: inputs)
      }
    }
    return result
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func accumulateParameterGradient(
    input: Tensor<Scalar>, outputCotangent: Tensor<Scalar>, repeats: Int,
    state: UnsafeBufferPointer<Scalar>, into gradient: UnsafeMutableBufferPointer<Scalar>
  ) {
    let batch = input.batchSize
    let delta = summedOverRepeats(outputCotangent, repeats: repeats)  // [B, out]
    delta.withUnsafeBufferPointer { d in
      input.storage.withUnsafeBufferPointer { x in
        Scalar.gemm(
          transposeA: true, transposeB: false, m: outputs, n: inputs, k: batch,
          alpha: 1, a: d.baseAddress!, lda: outputs, b: x.baseAddress!, ldb: inputs,
          beta: 1, c: gradient.baseAddress!, ldc: inputs)
        if hasBias {
          let gb = gradient.baseAddress! + outputs * inputs
          for n in 0..<batch { Scalar.axpy(n: outputs, alpha: 1, x: d.baseAddress! + n * outputs, y: gb) }
        }
      }
    }
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func jacobianPart(
    input: Tensor<Scalar>, outputCotangent: Tensor<Scalar>, repeats: Int,
    state: UnsafeBufferPointer<Scalar>, structured: Bool
  ) -> JacobianPart<Scalar>? {
    let part = JacobianPart<Scalar>.linear(
      outputs: outputs, inputs: inputs, hasBias: hasBias, delta: outputCotangent.storage, input: input.storage)
    if structured { return part }
    return .explicit(columns: part.columns, values: part.explicitRows(rowCount: outputCotangent.batchSize, repeats: repeats))
  }

  public func initialize(state: UnsafeMutableBufferPointer<Scalar>, generator: inout SplitMix64) {
    let bound = 1 / Double(inputs).squareRoot()
    fillUniform(state, range: 0..<stateCount, bound: bound, generator: &generator)
  }
}
