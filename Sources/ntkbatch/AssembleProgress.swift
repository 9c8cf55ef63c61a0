import ArgumentParser
import Checkpoint
import Foundation
import Storage

/// Progress of `assemble` on stderr: bytes of matrix written of the total, bytes/s and ETA.
struct AssembleProgress {
  enum Mode: String, ExpressibleByArgument, CaseIterable {
    case auto, bar, lines, none
  }

  var mode: Mode
  var interval: TimeInterval = 10
  private let start = Date()
  private var lastLine = Date()
  private var drawn = false

  init(mode: Mode) {
    self.mode = mode == .auto ? (isatty(STDERR_FILENO) == 1 ? .bar : .lines) : mode
  }

  mutating func update(_ progress: TileAssembler.Progress) {
    let now = Date()
    let elapsed = now.timeIntervalSince(start)
    let rate = elapsed > 0 ? Double(progress.bytesDone) / elapsed : 0
    let remaining = rate > 0 ? Double(progress.bytesTotal - progress.bytesDone) / rate : 0
    let fraction = progress.bytesTotal > 0 ? Double(progress.bytesDone) / Double(progress.bytesTotal) : 1
    let text = String(format: "assemble: %.2f of %.2f GB (%.0f%%), %.0f MB/s, ETA %@",
                      Double(progress.bytesDone) / 1e9, Double(progress.bytesTotal) / 1e9, 100 * fraction, rate / 1e6,
                      ProgressDisplay.duration(remaining))
    switch mode {
    case .bar:
      StandardStream.error("\r" + ProgressDisplay.bar(fraction) + " " + text + "\u{1B}[K")
      drawn = true
    case .lines:
      if now.timeIntervalSince(lastLine) >= interval || progress.bytesDone == progress.bytesTotal {
        lastLine = now
        StandardStream.error(text + "\n")
      }
    case .none, .auto:
      break
    }
  }

  func finish() {
    if drawn { StandardStream.error("\n") }
  }
}
