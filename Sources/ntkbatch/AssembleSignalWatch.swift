import Dispatch
import Foundation
import Storage

/// SIGINT, SIGTERM and SIGHUP during `assemble`: the temporary output (a preallocated `.npy` of
/// the full size, or a Zarr directory) is removed and `assemble` exits 75 (`CLIError.stoppedBySignal`);
/// an existing output is left as it was. SIGPIPE is ignored (a closed progress pipe must not
/// leave the temporary behind either).
///
/// The stop happens at the next progress report (after each band of tiles or row of chunks),
/// where `check` throws `Stopped` and the assembler abandons the output; a report with
/// `bytesDone == bytesTotal` marks the commit (durable, then renamed into place), which a signal
/// no longer interrupts. Backstop: if no report comes `forcedExitSeconds` after the signal (a
/// long band, or the steps before the first band), the watcher removes this process's
/// temporaries of the output itself (`OutputLeftovers`, by the pid in their names) and exits 75,
/// unless the commit has begun. A second SIGINT kills at once (the temporary is then left for the
/// next `assemble` or `repair`, as after `kill -9`).
final class AssembleSignalWatch {
  /// Thrown by `check` once a signal was received: the assembler abandons the output.
  struct Stopped: Error {}

  /// Seconds between the signal and the backstop's exit.
  static let forcedExitSeconds = 5.0

  private let output: String
  private let lock = NSLock()
  private var received: Int32?
  private var committing = false
  private var sources: [DispatchSourceSignal] = []

  /// Starts watching for `output` (the path given to `assemble`).
  init(output: String, signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]) {
    self.output = output
    sources = SignalDelivery.watch(signals) { [weak self] in self?.deliver($0) }
  }

  deinit { sources.forEach { $0.cancel() } }

  /// The first signal received, if any.
  var receivedSignal: Int32? {
    lock.lock()
    defer { lock.unlock() }
    return received
  }

  /// This process's temporaries of the output (and of its `.missing.json` mask).
  func temporaries() -> [String] {
    let pid = getpid()
    return OutputLeftovers.find(for: output).filter { $0.pid == pid }.map(\.path)
  }

  /// Called with each progress report: throws `Stopped` after a signal, unless this report
  /// (`done == total`) starts the commit.
  func check(done: Int64, total: Int64) throws {
    lock.lock()
    defer { lock.unlock() }
    if received != nil && !committing { throw Stopped() }
    if done >= total { committing = true }
  }

  private func deliver(_ number: Int32) {
    lock.lock()
    let first = received == nil
    if first { received = number }
    let busy = committing
    lock.unlock()
    let name = SignalDelivery.name(of: number)
    guard first else {
      guard number == SIGINT else { return }
      StandardStream.error("\nntkbatch: second \(name): killed at once (the temporary output is left for the next assemble or `ntkbatch repair`)\n")
      SignalDelivery.dieOf(number)
    }
    if busy {
      StandardStream.error("\nntkbatch: \(name) received while committing \(output): finishing it\n")
      return
    }
    StandardStream.error("\nntkbatch: \(name) received: stopping the assemble and removing its temporary output (\(output) is left as it was; Ctrl-C again kills at once)\n")
    DispatchQueue.global().asyncAfter(deadline: .now() + Self.forcedExitSeconds) { [self] in
      lock.lock()  // held until exit: the main thread cannot start the commit meanwhile
      guard !committing else { lock.unlock(); return }
      for path in temporaries() {
        // A Zarr directory may gain a chunk while it is removed: try again.
        for _ in 0..<3 where SystemFile.kind(of: path).exists { try? SystemFile.removeTree(path: path) }
        StandardStream.error(SystemFile.kind(of: path).exists ? "could not remove \(path) (the next assemble of \(output) or `ntkbatch repair` removes it)\n" : "removed \(path)\n")
      }
      _exit(CLIError.stoppedBySignal)
    }
  }
}
