import Checkpoint
import Foundation
import Storage

/// Progress of `verify` and `repair` on stderr while they decompress and re-hash every journaled
/// tile's object: objects checked of the total, GB (10⁹ bytes, stored as journaled) read of the
/// total, GB/s and ETA. Modes as `assemble`'s `--progress`: `bar` is redrawn at most every
/// `barInterval`; `lines` prints the totals at the start, a line every `lineInterval` (as `run`)
/// and a last line with the time and GB/s; `auto` is a bar on a terminal, otherwise lines from
/// `lineInterval` after the start on — the last one only after such a line, so a check shorter
/// than that prints nothing (its stderr stays the one error line scripts read). Nothing on
/// stdout, which scripts parse.
struct ObjectCheckProgress {
  var mode: AssembleProgress.Mode
  /// The command, first word of each line (`verify`, `repair`).
  let label: String
  var lineInterval: TimeInterval = 30
  var barInterval: TimeInterval = 2
  /// `auto` off a terminal: nothing before `lineInterval` has passed.
  private let onlyLong: Bool
  private let start = Date()
  private var last = Date.distantPast
  private var printed = false

  init(mode: AssembleProgress.Mode, label: String) {
    let terminal = isatty(STDERR_FILENO) == 1
    self.mode = mode == .auto ? (terminal ? .bar : .lines) : mode
    self.label = label
    onlyLong = mode == .auto && !terminal
    if onlyLong { last = start }
  }

  mutating func update(_ progress: RunVerifier.Progress) {
    guard progress.objectsTotal > 0, mode == .bar || mode == .lines else { return }
    let now = Date()
    let finished = progress.objectsDone == progress.objectsTotal
    if finished {
      guard printed || !onlyLong else { return }
    } else {
      guard now.timeIntervalSince(last) >= (mode == .bar ? barInterval : lineInterval) else { return }
    }
    last = now
    printed = true
    let elapsed = now.timeIntervalSince(start)
    let rate = elapsed > 0 ? Double(progress.bytesDone) / elapsed : 0
    let fraction = progress.bytesTotal > 0 ? Double(progress.bytesDone) / Double(progress.bytesTotal)
                                           : Double(progress.objectsDone) / Double(progress.objectsTotal)
    var text: String
    if finished {
      text = String(format: "%@: %d/%d objects checked, %.2f GB in %@ (%.2f GB/s)", label, progress.objectsDone, progress.objectsTotal,
                    Double(progress.bytesDone) / 1e9, ProgressDisplay.duration(elapsed), rate / 1e9)
    } else {
      text = String(format: "%@: %d/%d objects checked (%.0f%%), %.2f of %.2f GB", label, progress.objectsDone, progress.objectsTotal,
                    100 * fraction, Double(progress.bytesDone) / 1e9, Double(progress.bytesTotal) / 1e9)
      if progress.bytesDone > 0, rate > 0 {
        text += String(format: ", %.2f GB/s, ETA %@", rate / 1e9, ProgressDisplay.duration(Double(progress.bytesTotal - progress.bytesDone) / rate))
      }
    }
    if mode == .bar {
      StandardStream.error("\r" + ProgressDisplay.bar(fraction) + " " + text + "\u{1B}[K")
    } else {
      StandardStream.error(text + "\n")
    }
  }

  /// Ends the bar line, if one is drawn.
  func finish() {
    if printed, mode == .bar { StandardStream.error("\n") }
  }
}
