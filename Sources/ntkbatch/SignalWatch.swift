import Dispatch
import Engine
import Foundation

/// Turns SIGINT and SIGTERM (what Ctrl-C, Slurm and Kubernetes send before killing) into a stop:
/// a flag the runner checks between tiles, and a `TileCancellation` the tile computer checks
/// between layers and BLAS calls, so the tile in progress is abandoned (never journaled) and
/// `run` exits 75 at once, whatever the tile size.
///
/// Backstop: if the process has not exited `forcedExitSeconds` after the signal (one BLAS call of
/// a huge tile, a long start-up step), it exits with code 75 from the watcher thread — after any
/// object-plus-record commit in progress (`committing`) is durable. That is no worse than a
/// SIGKILL, which every step of the write path survives (docs/durability.md).
///
/// A second SIGINT while stopping restores the default action (so a second Ctrl-C kills at once);
/// further SIGTERMs are ignored (under Slurm a task may get one from the batch script, which
/// forwards its own, and one from slurmd). Whatever is journaled stays; the exit code is
/// `CLIError.stoppedBySignal`.
final class SignalWatch {
  /// Seconds between the first signal and the forced exit (Slurm waits `KillWait`, 30 s by
  /// default, before SIGKILL; the issue's bound is 10 s).
  static let forcedExitSeconds = 7.0

  /// Cancelled at the first signal; give it to the tile computer.
  let cancellation = TileCancellation()
  private let lock = NSLock()
  private let commitLock = NSLock()
  private var received: Int32?
  private var sources: [DispatchSourceSignal] = []

  /// Starts watching; signals are delivered on a background queue.
  init(signals: [Int32] = [SIGINT, SIGTERM]) {
    for number in signals {
      Foundation.signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler { [weak self] in self?.deliver(number) }
      source.resume()
      sources.append(source)
    }
  }

  deinit { sources.forEach { $0.cancel() } }

  /// The first signal received, if any.
  var receivedSignal: Int32? {
    lock.lock()
    defer { lock.unlock() }
    return received
  }

  /// Runs `body` (storing an object and appending its journal record) so that the forced exit
  /// waits for it to finish.
  func committing(_ body: () throws -> Void) throws {
    commitLock.lock()
    defer { commitLock.unlock() }
    try body()
  }

  private func deliver(_ number: Int32) {
    lock.lock()
    defer { lock.unlock() }
    if received == nil {
      received = number
      cancellation.cancel()
      FileHandle.standardError.write(Data("\nntkbatch: \(number == SIGINT ? "SIGINT" : "SIGTERM") received: abandoning the tile in progress and stopping (resumable; journaled tiles are kept)\n".utf8))
      DispatchQueue.global().asyncAfter(deadline: .now() + SignalWatch.forcedExitSeconds) { [commitLock] in
        commitLock.lock()  // never in the middle of an object + record commit
        FileHandle.standardError.write(Data("ntkbatch: still busy \(Int(SignalWatch.forcedExitSeconds)) s after the stop request: exiting now; nothing unfinished was journaled\n".utf8))
        _exit(CLIError.stoppedBySignal)
      }
    } else if number == SIGINT {
      Foundation.signal(number, SIG_DFL)
    }
  }
}
