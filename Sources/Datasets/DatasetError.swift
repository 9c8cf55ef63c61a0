/// The one error type of the Datasets module for a dataset that is not what was expected: a file
/// whose content is malformed, a subsample beyond the split, a file missing under `dataset.root`.
///
/// `description` is the message: one line naming the file (or manifest field) and what was
/// expected, printed as-is by the command line, which exits with code 2 (bad input) for every
/// code. Reading failures of the file system stay `StorageError` (as do gzip streams, whose
/// reader is general: `Gzip`), and so do failed downloads (`Download`).
public struct DatasetError: Error, Equatable, CustomStringConvertible {
  /// What was wrong.
  public enum Code: String, Sendable {
    /// A dataset file's bytes are malformed: wrong magic, truncated, sizes disagreeing with the
    /// header (IDX, CIFAR-10 batches, MAT-file, tar archive), labels out of range.
    case malformedDataset
    /// A subsample (`dataset.subsample`, `--subsample`) beyond the samples the split holds.
    case sampleRange
    /// Any other bad input found while loading: a missing file, an `npy` array of the wrong
    /// shape or with non-finite values, image and label counts that disagree.
    case badInput
  }

  public let code: Code
  /// The whole one-line message (beginning with the file's path when there is one).
  public let message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  /// An error about the file `path`: the message reads `"<path>: <message>"`.
  public init(_ code: Code = .malformedDataset, path: String, _ message: String) {
    self.init(code, "\(path): \(message)")
  }

  public var description: String { message }
}
