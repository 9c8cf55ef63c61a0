import ArgumentParser
import Checkpoint
import Datasets
import Engine
import Foundation
import Pipeline
import Storage

/// Maps every module's error to one line on stderr and an exit code, in one place.
///
/// Exit codes: 1 failure, 2 bad input, 75 (`EX_TEMPFAIL`) stopped by a signal and resumable.
enum CLIError {
  /// Exit code for a run stopped by SIGINT/SIGTERM: resumable, distinct from failure, so a
  /// scheduler can requeue it.
  static let stoppedBySignal: Int32 = 75

  /// Runs `body`; prints any error as one line (`ntkbatch: error: …`) and exits with its code.
  ///
  /// With `manifest` (the manifest file the command was given), a message that starts with a
  /// manifest field (`ntk.memoryBudget: …`, `model.width: …`) is prefixed with the file's path, as
  /// the manifest's own validation errors are.
  static func reporting<T>(manifest: String? = nil, _ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as ExitCode {
      throw error
    } catch {
      var (code, message) = describe(error)
      // A message naming the file already (the validator's, which starts with the path) is left as
      // it is, also when the file's name itself starts like a field (`model.json: model.name: …`).
      if let manifest, !message.hasPrefix(manifest + ": "),
         Manifest.topLevelKeys.contains(where: { message.hasPrefix($0 + ".") || message.hasPrefix($0 + ":") }) {
        message = "\(manifest): \(message)"
      }
      StandardStream.error("ntkbatch: error: \(message.replacingOccurrences(of: "\n", with: " "))\n")
      throw ExitCode(code)
    }
  }

  /// The exit code and one-line message of an error from any module.
  static func describe(_ error: Error) -> (Int32, String) {
    switch error {
    case let e as StorageError: return (e.kind == .ioFailure ? 1 : 2, e.description)
    case let e as CheckpointError: return ([.badInput, .identityMismatch, .locked].contains(e.code) ? 2 : 1, e.description)
    case let e as EngineError: return (2, e.message)
    case let e as DatasetError: return (2, e.message)
    case let e as BadInput: return (2, e.message)
    default: return (1, "\(error)")
    }
  }

  /// A bad-input problem (exit 2): the pipeline's `BadInput`, thrown by the commands too.
  typealias BadInput = Pipeline.BadInput
}
