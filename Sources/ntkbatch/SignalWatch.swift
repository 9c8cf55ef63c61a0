import Dispatch
import Foundation

/// Turns SIGINT and SIGTERM (what Ctrl-C, Slurm and Kubernetes send before killing) into a flag
/// the runner checks between tiles, so a run stops cleanly after the tile in progress.
///
/// A second signal of the same kind while stopping restores the default action (so a second
/// Ctrl-C kills at once). Whatever is journaled stays; the exit code is `CLIError.stoppedBySignal`.
final class SignalWatch {
  private let lock = NSLock()
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

  private func deliver(_ number: Int32) {
    lock.lock()
    defer { lock.unlock() }
    if received == nil {
      received = number
      FileHandle.standardError.write(Data("\nntkbatch: \(number == SIGINT ? "SIGINT" : "SIGTERM") received: finishing the tile in progress, then stopping (resumable)\n".utf8))
    } else {
      Foundation.signal(number, SIG_DFL)
    }
  }
}
