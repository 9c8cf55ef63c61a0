import Dispatch
import Foundation

/// The signal plumbing `SignalWatch` (run, training) and `AssembleSignalWatch` (assemble) share:
/// signals delivered to a handler on a background queue instead of their default actions, and
/// dying of a signal on purpose (a second Ctrl-C).
enum SignalDelivery {
  /// Ignores SIGPIPE (a closed output pipe must not end the process; writes to it fail with
  /// `EPIPE` and are dropped, `StandardStream`), replaces the default action of each of `signals`
  /// and calls `handler` with the signal's number on a background queue each time one arrives.
  ///
  /// - Returns: the sources; keep them (cancelled when released).
  static func watch(_ signals: [Int32], handler: @escaping (Int32) -> Void) -> [DispatchSourceSignal] {
    signal(SIGPIPE, SIG_IGN)
    return signals.map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler { handler(number) }
      source.resume()
      return source
    }
  }

  /// Dies of `number` now, with its default action, from the calling thread (a shell shows
  /// 128 + number, e.g. 130 for SIGINT).
  static func dieOf(_ number: Int32) -> Never {
    signal(number, SIG_DFL)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, number)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    raise(number)
    _exit(128 + number)  // not reached unless the signal could not be delivered
  }

  /// "SIGINT", "SIGTERM", "SIGHUP" (the signals watched), else "signal N".
  static func name(of number: Int32) -> String {
    switch number {
    case SIGINT: return "SIGINT"
    case SIGTERM: return "SIGTERM"
    case SIGHUP: return "SIGHUP"
    default: return "signal \(number)"
    }
  }
}
