/// A tensor the layer owns in the model's state, relative to the layer (e.g. `weight`, `running_var`).
public struct LayerStateSpec: Equatable, Sendable {
  /// The key suffix appended to the layer's module path with a dot (`weight`, `bias`, …).
  public let name: String
  /// The PyTorch shape of the tensor.
  public let shape: [Int]
  /// Trainable parameter (a Jacobian column block) or constant state (running statistics).
  public let isTrainable: Bool

  public init(_ name: String, _ shape: [Int], trainable: Bool = true) {
    self.name = name
    self.shape = shape
    self.isTrainable = trainable
  }

  public var count: Int { shape.reduce(1, *) }
}

/// One operation of a model: a forward map `y = f(x; θ)` and its reverse pass.
///
/// A layer is an immutable description (sizes, stride, …); its tensors live in the model's flat
/// state buffer and are handed to every call as `state`, the layer's slice laid out as its
/// `stateSpecs` in order. Trainable tensors come first, so the layer's parameter gradient is the
/// prefix `state[0 ..< parameterCount]` of that layout.
///
/// Reverse passes take a batch of `R = B · repeats` output cotangents for a batch of `B` inputs:
/// cotangent row `r` belongs to input sample `r / repeats` (the activations of a sample are shared
/// by its `repeats` cotangent rows by index, never copied). `repeats = 1` is the ordinary
/// vector–Jacobian product; `repeats = m` seeds one row per logit for per-sample Jacobians.
public protocol Layer<Scalar> {
  associatedtype Scalar: BLASScalar

  /// The tensors of this layer in PyTorch order (trainable ones first).
  var stateSpecs: [LayerStateSpec] { get }

  /// The per-sample output shape for a per-sample input shape (both without the batch dimension).
  /// Throws `EngineError.shapeMismatch` if the input shape does not fit the layer.
  func outputShape(forInput shape: [Int]) throws -> [Int]

  /// The inference-mode forward pass: `[B, …in]` → `[B, …out]`.
  func forward(_ input: Tensor<Scalar>, state: UnsafeBufferPointer<Scalar>) -> Tensor<Scalar>

  /// Input cotangents `∂L/∂x`, `[B·repeats, …in]`, from output cotangents `[B·repeats, …out]`.
  /// `output` is this layer's forward output for `input`.
  func inputCotangent(
    input: Tensor<Scalar>, output: Tensor<Scalar>, outputCotangent: Tensor<Scalar>,
    repeats: Int, state: UnsafeBufferPointer<Scalar>) -> Tensor<Scalar>

  /// As `inputCotangent(input:output:outputCotangent:repeats:state:)`, the layer's new buffers
  /// (its result, large scratch) taken from `pool` (`BufferPool`, the reverse pass's recycled
  /// buffers). The default ignores the pool.
  func inputCotangent(
    input: Tensor<Scalar>, output: Tensor<Scalar>, outputCotangent: Tensor<Scalar>,
    repeats: Int, state: UnsafeBufferPointer<Scalar>, pool: BufferPool<Scalar>?) -> Tensor<Scalar>

  /// As `inputCotangent`, for a layer whose input cotangent has the output cotangent's shape and
  /// is computed element by element (ReLU, BatchNorm): overwrites `cotangent`
  /// (`[B·repeats, …out]`) with the input cotangent in place — no new buffer when `cotangent` is
  /// uniquely referenced — and returns true. Returns false, `cotangent` untouched, for the other
  /// layers (the default).
  func inputCotangentInPlace(
    input: Tensor<Scalar>, output: Tensor<Scalar>, cotangent: inout Tensor<Scalar>,
    repeats: Int, state: UnsafeBufferPointer<Scalar>) -> Bool

  /// Adds `Σ_r ∂L_r/∂θ` (summed over all cotangent rows) to `gradient`, the layer's trainable
  /// parameters in `stateSpecs` order.
  func accumulateParameterGradient(
    input: Tensor<Scalar>, outputCotangent: Tensor<Scalar>, repeats: Int,
    state: UnsafeBufferPointer<Scalar>, into gradient: UnsafeMutableBufferPointer<Scalar>)

  /// The per-row parameter gradients `∂L_r/∂θ` (rows of the Jacobian restricted to this layer),
  /// or `nil` for a layer without parameters. `structured` lets a layer return a factored form.
  func jacobianPart(
    input: Tensor<Scalar>, outputCotangent: Tensor<Scalar>, repeats: Int,
    state: UnsafeBufferPointer<Scalar>, structured: Bool) -> JacobianPart<Scalar>?

  /// Fills the layer's state with PyTorch's default initialisation, drawing from `generator`.
  func initialize(state: UnsafeMutableBufferPointer<Scalar>, generator: inout SplitMix64)
}

extension Layer {
  public var stateSpecs: [LayerStateSpec] { [] }

  /// Number of trainable scalars of the layer.
  public var parameterCount: Int { stateSpecs.filter(\.isTrainable).reduce(0) { $0 + $1.count } }

  /// Number of state scalars (trainable and constant).
  public var stateCount: Int { stateSpecs.reduce(0) { $0 + $1.count } }

  public func inputCotangent(
    input: Tensor<Scalar>, output: Tensor<Scalar>, outputCotangent: Tensor<Scalar>,
    repeats: Int, state: UnsafeBufferPointer<Scalar>, pool: BufferPool<Scalar>?
  ) -> Tensor<Scalar> {
    inputCotangent(input: input, output: output, outputCotangent: outputCotangent, repeats: repeats, state: state)
  }

  public func inputCotangentInPlace(
    input: Tensor<Scalar>, output: Tensor<Scalar>, cotangent: inout Tensor<Scalar>,
    repeats: Int, state: UnsafeBufferPointer<Scalar>
  ) -> Bool { false }

  public func accumulateParameterGradient(
    input: Tensor<Scalar>, outputCotangent: Tensor<Scalar>, repeats: Int,
    state: UnsafeBufferPointer<Scalar>, into gradient: UnsafeMutableBufferPointer<Scalar>
  ) {}

  public func jacobianPart(
    input: Tensor<Scalar>, outputCotangent: Tensor<Scalar>, repeats: Int,
    state: UnsafeBufferPointer<Scalar>, structured: Bool
  ) -> JacobianPart<Scalar>? { nil }

  public func initialize(state: UnsafeMutableBufferPointer<Scalar>, generator: inout SplitMix64) {}
}

/// A layer whose reverse pass works in place (`inputCotangentInPlace` returns true: ReLU,
/// BatchNorm2d): its `inputCotangent` is that pass on a copy of the output cotangent.
public protocol InPlaceCotangentLayer: Layer {}

extension InPlaceCotangentLayer {
  public func inputCotangent(
    input: Tensor<Scalar>, output: Tensor<Scalar>, outputCotangent: Tensor<Scalar>,
    repeats: Int, state: UnsafeBufferPointer<Scalar>
  ) -> Tensor<Scalar> {
    var result = outputCotangent
    _ = inputCotangentInPlace(input: input, output: output, cotangent: &result, repeats: repeats, state: state)
    return result
  }
}

/// Sums cotangent rows over their repeats: `[B·repeats, n]` → `[B, n]` (no copy when `repeats == 1`).
@_specialize(where T == Float)
@_specialize(where T == Double)
func summedOverRepeats<T: BLASScalar>(_ cotangent: Tensor<T>, repeats: Int) -> [T] {
  if repeats == 1 { return cotangent.storage }
  let rows = cotangent.batchSize
  let width = cotangent.sampleSize
  let samples = rows / repeats
  var sum = [T](repeating: 0, count: samples * width)
  cotangent.storage.withUnsafeBufferPointer { c in
    sum.withUnsafeMutableBufferPointer { s in
      for r in 0..<rows {
        T.axpy(n: width, alpha: 1, x: c.baseAddress! + r * width, y: s.baseAddress! + (r / repeats) * width)
      }
    }
  }
  return sum
}

/// Uniform initialisation on `[-bound, bound]`, PyTorch's default for Conv/Linear weights
/// (`kaiming_uniform_(a=√5)` gives `bound = 1/√fan_in`) and biases.
func fillUniform<T: BLASScalar>(
  _ buffer: UnsafeMutableBufferPointer<T>, range: Range<Int>, bound: Double, generator: inout SplitMix64
) {
  for i in range { buffer[i] = T(generator.nextUniform(-bound, bound)) }
}
