#if canImport(Glibc)
import Glibc
#endif

/// Stochastic gradient descent with momentum and weight decay, PyTorch `torch.optim.SGD(params,
/// lr, momentum=0.9, weight_decay=5e-4)` (dampening 0, not Nesterov). One step, elementwise over θ:
///
///     d = g + λ·θ          (weight decay λ)
///     b ← μ·b + d          (momentum μ; b starts at 0, so the first step has b = d as in PyTorch)
///     θ ← θ − η·b          (learning rate η)
///
/// Weight decay applies to every trainable parameter (biases and BatchNorm γ, β included), as
/// the original tool's optimizer over `model.parameters()` did.
public struct SGDMomentum<T: BLASScalar>: Equatable {
  /// μ (0.9).
  public let momentum: Double
  /// λ (5e-4).
  public let weightDecay: Double
  /// The momentum buffer b, `[P]` in parameter order.
  public var buffer: [T]

  /// An optimizer for P = `parameterCount` parameters with a zero momentum buffer.
  public init(parameterCount: Int, momentum: Double = 0.9, weightDecay: Double = 5e-4) {
    self.momentum = momentum
    self.weightDecay = weightDecay
    self.buffer = [T](repeating: 0, count: parameterCount)
  }

  /// Applies one step to `parameters` (`[P]`) with `gradient` (`[P]`) and learning rate η.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public mutating func step(parameters: inout [T], gradient: [T], learningRate: Double) {
    precondition(parameters.count == buffer.count && gradient.count == buffer.count, "SGD: θ, g and b must all be [P]")
    let (mu, lambda, eta) = (T(momentum), T(weightDecay), T(learningRate))
    buffer.withUnsafeMutableBufferPointer { b in
      gradient.withUnsafeBufferPointer { g in
        parameters.withUnsafeMutableBufferPointer { theta in
          for i in 0..<b.count { b[i] = mu * b[i] + (g[i] + lambda * theta[i]) }
          T.axpy(n: b.count, alpha: -eta, x: b.baseAddress!, y: theta.baseAddress!)
        }
      }
    }
  }

  /// The cosine-annealed learning rate of epoch `epoch` (0-based) of `epochs`, PyTorch
  /// `CosineAnnealingLR(T_max=epochs, eta_min=0)` stepped once per epoch (closed form):
  /// `η_e = η/2 · (1 + cos(π·e/epochs))`.
  public static func cosineLearningRate(base: Double, epoch: Int, epochs: Int) -> Double {
    base / 2 * (1 + cos(Double.pi * Double(epoch) / Double(epochs)))
  }
}
