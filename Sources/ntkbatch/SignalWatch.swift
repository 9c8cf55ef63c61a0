import Dispatch
import Engine
import Foundation
import Storage
import Pipeline

/// Turns SIGINT, SIGTERM and SIGHUP (what Ctrl-C, Slurm and Kubernetes send before killing, and
/// what a closed terminal or ssh session sends) into a stop, and ignores SIGPIPE.
///
/// SIGPIPE: a closed output pipe (`ntkbatch run M 2>&1 | tee log` whose `tee` is gone) must not
/// end the run; writes to it then fail with `EPIPE` and are dropped (`StandardStream`).
///
/// While tiles are computed (`activity` is `defaultActivity`): a flag the runner checks between
/// tiles, and a `TileCancellation` the tile computer checks between layers and BLAS calls, so the
/// tile in progress is abandoned (never journaled) and `run` exits 75 at once, whatever the tile
/// size. Backstop: if the process has not exited `forcedExitSeconds` after the signal (one BLAS
/// call of a huge tile, a long start-up step), it exits with code 75 from the watcher thread —
/// after any object-plus-record commit in progress (`committing`) is durable. That is no worse
/// than a SIGKILL, which every step of the write path survives (docs/durability.md).
///
/// While training (`activity` set by the training pipeline), the trainer checks the flag between
/// batches: the batch in progress is finished, the epoch in progress abandoned (not committed;
/// the next session repeats it from the last committed epoch); there is no backstop.
///
/// A second SIGINT while stopping kills the process at once with SIGINT's default action (a shell
/// shows exit 130); further SIGTERMs and SIGHUPs are ignored (under Slurm a task may get one from the batch
/// script, which forwards its own, and one from slurmd). Whatever is journaled or committed stays;
/// the exit code of a clean stop is `CLIError.stoppedBySignal`.
final class SignalWatch: StopRequests {
  /// What a stop request abandons, when nothing more specific is set: tile computation.
  static let defaultActivity = "the tile in progress"

  /// Seconds between the first signal and the forced exit while computing tiles (Slurm waits
  /// `KillWait`, 30 s by default, before SIGKILL; the bound promised is 10 s).
  static let forcedExitSeconds = 7.0

  /// Cancelled at the first signal; give it to the tile computer.
  let cancellation = TileCancellation()
  private let lock = NSLock()
  private let commitLock = NSLock()
  private var received: Int32?
  private var current = SignalWatch.defaultActivity
  private var sources: [DispatchSourceSignal] = []

  /// Starts watching; signals are delivered on a background queue.
  init(signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]) {
    sources = SignalDelivery.watch(signals) { [weak self] in self?.deliver($0) }
  }

  deinit { sources.forEach { $0.cancel() } }

  /// The first signal received, if any.
  var receivedSignal: Int32? {
    lock.lock()
    defer { lock.unlock() }
    return received
  }

  /// What the process is doing, as named in the message a stop request prints
  /// (e.g. "the training epoch in progress"); `defaultActivity` while computing tiles.
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

  /// Whether a signal was received.
  var isStopRequested: Bool { receivedSignal != nil }

  /// Runs `body` with `activity` set to `doing`, so that a signal lets it finish (no
  /// cancellation, no forced exit); `defaultActivity` again afterwards.
  func finishing<R>(_ doing: String, _ body: () throws -> R) throws -> R {
    activity = doing
    defer { activity = SignalWatch.defaultActivity }
    return try body()
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
    let first = received == nil
    if first { received = number }
    let doing = current
    lock.unlock()
    let name = SignalDelivery.name(of: number)
    if first {
      guard doing == SignalWatch.defaultActivity else {
        StandardStream.error("\nntkbatch: \(name) received: finishing \(doing), then stopping (resumable; Ctrl-C again kills at once)\n")
        return
      }
      cancellation.cancel()
      StandardStream.error("\nntkbatch: \(name) received: abandoning the tile in progress and stopping (resumable; journaled tiles are kept)\n")
      DispatchQueue.global().asyncAfter(deadline: .now() + SignalWatch.forcedExitSeconds) { [commitLock] in
        commitLock.lock()  // never in the middle of an object + record commit
        StandardStream.error("ntkbatch: still busy \(Int(SignalWatch.forcedExitSeconds)) s after the stop request: exiting now; nothing unfinished was journaled\n")
        _exit(CLIError.stoppedBySignal)
      }
      return
    }
    guard number == SIGINT else { return }  // repeated SIGTERMs (Slurm sends more than one) and SIGHUPs are ignored
    // Second SIGINT: die of it now, with its default action, from this thread.
    StandardStream.error("\nntkbatch: second \(name): killed at once (\(doing) is lost; everything already journaled or committed stays)\n")
    SignalDelivery.dieOf(number)
  }
}
