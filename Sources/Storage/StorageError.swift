/// The one error type of the Storage module: a file that could not be read, written or parsed.
///
/// `description` is a single line naming the file and what was expected, suitable for printing
/// as-is by the command line (which maps `kind` to an exit code).
public struct StorageError: Error, CustomStringConvertible, Equatable {
  /// What went wrong, coarsely: bad input (a file with the wrong content) or an I/O failure.
  public enum Kind: Equatable, Sendable {
    /// The file exists but its content is not what the format requires (exit code 2).
    case badInput
    /// Reading, writing or syncing failed (exit code 1).
    case ioFailure
    /// A new file or directory could not be published because its name was taken meanwhile by
    /// another process (`SystemFile.publishExclusively`), or a directory could not be created
    /// because a file holds the name of one of its folders (`SystemFile.createDirectoryDurably`);
    /// exit code 2.
    case destinationExists
    /// A path that cannot be used as asked, whatever is retried: a directory that cannot be
    /// created there (permission denied, a read-only file system, `/proc`; see
    /// `SystemFile.createDirectories`); exit code 2.
    case unusablePath
  }

  /// The coarse category.
  public var kind: Kind
  /// The file (or object) the error is about.
  public var path: String
  /// What was expected and what was found.
  public var message: String

  /// Creates an error about `path`.
  public init(_ kind: Kind = .badInput, path: String, _ message: String) {
    self.kind = kind
    self.path = path
    self.message = message
  }

  public var description: String { "\(path): \(message)" }
}
