import Dispatch
import Foundation

/// Turns SIGINT and SIGTERM (what Ctrl-C, Slurm and Kubernetes send before killing) into a flag
/// the runner checks between tiles (the trainer between epochs), so a run stops cleanly after the
/// tile (epoch) in progress.
///
/// A second signal of the same kind while stopping kills the process at once with that signal
/// (the default action; a shell shows exit 130 for SIGINT). Whatever is journaled stays; the exit
/// code of a clean stop is `CLIError.stoppedBySignal`.
final class SignalWatch {
  /// What a stop request finishes before stopping, when nothing more specific is set.
  static let defaultActivity = "the tile in progress"

  private let lock = NSLock()
  private var received: Int32?
  private var current = SignalWatch.defaultActivity
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

  /// What the process is doing, as named in the message a stop request prints
  /// (e.g. "the training epoch in progress"); `defaultActivity` otherwise.
  var activity: String {
    get {
      lock.lock()
      defer { lock.unlock() }
      return current
    }
    set {
      lock.lock()
      defer { lock.unlock() }
      current = newValue
    }
  }

  private func deliver(_ number: Int32) {
    lock.lock()
    let first = received == nil
    if first { received = number }
    let doing = current
    lock.unlock()
    let name = number == SIGINT ? "SIGINT" : "SIGTERM"
    if first {
      FileHandle.standardError.write(Data("\nntkbatch: \(name) received: finishing \(doing), then stopping (resumable; send it again to kill at once)\n".utf8))
      return
    }
    // Second signal: die of it now, with its default action, from this thread.
    FileHandle.standardError.write(Data("\nntkbatch: second \(name): killed at once (\(doing) is lost; everything already journaled or committed stays)\n".utf8))
    Foundation.signal(number, SIG_DFL)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, number)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    raise(number)
    _exit(128 + number)  // not reached unless the signal could not be delivered
  }
}
