/// A bad-input problem found by the pipeline or the command line (a dataset file with the wrong
/// shape, a weights tensor with a NaN, a manifest field the pipeline refuses): one line naming the
/// file or field and what was expected. The command line's exit-code map turns it into exit 2.
public struct BadInput: Error {
  /// The one-line message, e.g. `W.safetensors: tensor 'fc.weight': expected finite values, found nan at index [0, 3] (1 non-finite of 840)`.
  public var message: String
  public init(_ message: String) { self.message = message }
}
