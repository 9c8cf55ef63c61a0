public struct EngineError: Error, Equatable, CustomStringConvertible {
  public enum Code: String, Sendable { case unknownModel, stateMismatch, shapeMismatch, malformedDataset, sampleRange }
  public let code: Code
  public let message: String
  public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
  public var description: String { "\(code.rawValue): \(message)" }
}
