import Storage

/// The one error type of the Checkpoint module: a one-line message naming the file, field, tile
/// or journal offset concerned, and a `code` the command line maps to an exit status.
///
/// Manifest errors read `manifests/x.json: ntk.tileSamples: expected a positive integer, found -3`.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
  /// What kind of failure, for the exit code.
  public enum Code: String, Codable, Equatable, Sendable {
    /// The manifest (or another input given on the command line) is invalid (exit code 2).
    case badInput
    /// Another process holds the run directory's lock.
    case locked
    /// The run directory belongs to another manifest, weights, input data or plan.
    case identityMismatch
    /// The journal or an object is damaged (a checksum failed before the end of a segment, a
    /// tile journaled twice, an object that does not re-hash).
    case damaged
    /// The run is not complete (assemble with tiles missing).
    case incomplete
    /// The values do not fit the requested output dtype (float16 overflow); nothing was written.
    case overflow
    /// An I/O or system failure (ENOSPC, EIO, …) or a failure of the tile computer.
    case failure
  }

  /// The coarse category.
  public var code: Code
  /// The one-line message, starting with the file (or run directory) it is about.
  public var message: String

  /// Creates an error.
  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { message }

  /// A Storage error, re-expressed (bad input becomes `.damaged`: in a run directory it means a
  /// file ntkbatch wrote no longer reads back; an output name taken meanwhile, or a path where no
  /// directory can be created, `.badInput`).
  init(_ error: StorageError) {
    switch error.kind {
    case .ioFailure: self.init(.failure, error.description)
    case .destinationExists, .unusablePath: self.init(.badInput, error.description)
    case .badInput: self.init(.damaged, error.description)
    }
  }

  /// Runs `body`, turning any `StorageError` into a `CheckpointError`.
  static func wrapping<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as StorageError {
      throw CheckpointError(error)
    }
  }
}
