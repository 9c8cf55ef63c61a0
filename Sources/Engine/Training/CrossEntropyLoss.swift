#if canImport(Glibc)
import Glibc
#endif

/// Cross-entropy on logits, averaged over the batch, PyTorch `nn.CrossEntropyLoss()`:
///
///     L = 1/B Σ_n ( log Σ_k exp(z[n, k]) − z[n, y_n] )
///     ∂L/∂z[n, k] = (softmax(z_n)_k − [k = y_n]) / B
///
/// computed with the max-shifted log-sum-exp so that large logits do not overflow.
public struct CrossEntropyLoss<T: BLASScalar> {
  /// The mean loss L.
  public let loss: Double
  /// How many rows' largest logit (first one on ties) is the label.
  public let correct: Int
  /// ∂L/∂z, `[B, K]`.
  public let gradient: Tensor<T>

  /// Evaluates the loss of `logits` `[B, K]` against `labels` (B of them, each in `0..<K`).
  ///
  /// - Throws: `EngineError.shapeMismatch` if the label count is not B or a label is outside `0..<K`.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public init(logits: Tensor<T>, labels: ArraySlice<Int>) throws {
    let (rows, classes) = (logits.batchSize, logits.sampleSize)
    guard labels.count == rows, labels.allSatisfy({ (0..<classes).contains($0) }) else {
      throw EngineError(.shapeMismatch, "cross-entropy needs \(rows) labels in 0..<\(classes), found \(labels.count) labels")
    }
    var gradient = Tensor<T>(zeros: logits.shape)
    var total = 0.0
    var correct = 0
    logits.storage.withUnsafeBufferPointer { z in
      gradient.storage.withUnsafeMutableBufferPointer { g in
        for (n, label) in zip(0..<rows, labels) {
          let row = z.baseAddress! + n * classes
          let out = g.baseAddress! + n * classes
          var best = 0
          for k in 1..<classes where row[k] > row[best] { best = k }
          if best == label { correct += 1 }
          let shift = Double(row[best])
          var sum = 0.0
          for k in 0..<classes { sum += exp(Double(row[k]) - shift) }
          total += log(sum) + shift - Double(row[label])
          let scale = 1 / (sum * Double(rows))
          for k in 0..<classes {
            let target = k == label ? 1 / Double(rows) : 0
            out[k] = T(exp(Double(row[k]) - shift) * scale - target)
          }
        }
      }
    }
    self.loss = total / Double(rows)
    self.correct = correct
    self.gradient = gradient
  }
}
