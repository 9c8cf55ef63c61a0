/// The one error type of the Engine module: a code plus a one-line message naming the key, model,
/// field or file part at fault and what was expected.
public struct EngineError: Error, Equatable, CustomStringConvertible {
  /// What kind of input was wrong.
  public enum Code: String, Sendable {
    /// A model name not in `ModelZoo.names`, or an unsupported width.
    case unknownModel
    /// A state tensor is missing, unexpected, or has the wrong shape or element count.
    case stateMismatch
    /// An input tensor has the wrong shape for the model.
    case shapeMismatch
    /// A requested tile or block lies outside the plan (`TileSource`).
    case sampleRange
    /// The computation does not fit the memory budget (`TileMemoryPlan`).
    case memoryBudget
    /// The tile in progress was abandoned at a stop request (`TileCancellation`).
    case cancelled
  }

  public let code: Code
  public let message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code.rawValue): \(message)" }
}
