import ArgumentParser
import Checkpoint
import Foundation
import Storage

/// How `run` reports progress.
enum ProgressMode: String, ExpressibleByArgument, CaseIterable {
  /// A redrawn bar on a terminal, plain periodic lines otherwise.
  case auto
  /// A redrawn bar on stderr.
  case bar
  /// One line on stderr at most every `interval` seconds (and at the end).
  case lines
  /// One line on stdout per journaled tile: `tile INDEX (I, J) SECONDS s` (for scripts and tests).
  case tiles
  /// Nothing but errors.
  case none
}

/// Renders progress of a run: tiles done/total, share of sample pairs, rate and ETA.
///
/// Rate and ETA come from the runner's `RunProgress`: sample pairs (a tile of nI × nJ samples is
/// nI·nJ pairs, nI(nI+1)/2 on the diagonal) per second over the tiles computed in this session.
struct ProgressDisplay {
  var mode: ProgressMode
  /// Seconds between two lines in `lines` mode.
  var interval: TimeInterval = 30
  private var lastLine = Date.distantPast

  init(mode: ProgressMode) {
    self.mode = mode == .auto ? (isatty(STDERR_FILENO) == 1 ? .bar : .lines) : mode
  }

  /// Reports one journaled tile.
  mutating func tileFinished(index: Int, row: Int, column: Int, seconds: Double, state: RunProgress) {
    switch mode {
    case .tiles:
      print("tile \(index) (\(row), \(column)) \(String(format: "%.3f", seconds)) s")
      fflush(stdout)
    case .bar:
      StandardStream.error("\r" + bar(state) + "\u{1B}[K")
    case .lines:
      let now = Date()
      if now.timeIntervalSince(lastLine) >= interval || state.tilesDone == state.tilesTotal {
        lastLine = now
        StandardStream.error(summary(state) + "\n")
      }
    case .none, .auto:
      break
    }
  }

  /// Ends the bar line, if one is drawn.
  func finish() {
    if mode == .bar { StandardStream.error("\n") }
  }

  private func bar(_ state: RunProgress) -> String {
    Self.bar(fraction(state)) + " " + summary(state)
  }

  /// `[####........]`: `fraction` (clamped to 0…1) of `width` cells filled — the bar every
  /// progress display of ntkbatch draws.
  static func bar(_ fraction: Double, width: Int = 28) -> String {
    let filled = Int((min(1, max(0, fraction)) * Double(width)).rounded(.down))
    return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
  }

  private func fraction(_ state: RunProgress) -> Double {
    state.pairsTotal > 0 ? Double(state.pairsDone) / Double(state.pairsTotal) : 1
  }

  private func summary(_ state: RunProgress) -> String {
    var text = "\(state.tilesDone)/\(Plural.count(state.tilesTotal, "tile")) \(String(format: "%5.1f", fraction(state) * 100))%"
    if state.pairsPerSecond > 0 {
      text += String(format: " | %.0f sample pairs/s", state.pairsPerSecond)
    }
    if let eta = state.etaSeconds { text += " | ETA " + Self.duration(eta) }
    return text
  }

  /// `HH:MM:SS`, or `Dd HH:MM:SS` past a day; `--:--:--` for a value that is not a duration
  /// (negative, NaN/±Inf, or beyond 10⁹ days, e.g. a `computeSeconds` of 1e19 read from a journal).
  static func duration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0, seconds < 86_400e9, let total = Int(exactly: seconds.rounded()) else { return "--:--:--" }
    let (d, h, m, s) = (total / 86_400, total / 3600 % 24, total / 60 % 60, total % 60)
    let clock = String(format: "%02d:%02d:%02d", h, m, s)
    return d > 0 ? "\(d)d \(clock)" : clock
  }
}
