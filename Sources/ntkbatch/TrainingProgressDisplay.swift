import Checkpoint
import Engine
import Foundation
import Storage

/// Progress of training: epoch, loss, training accuracy, learning rate, time per epoch and an ETA
/// (for the remaining epochs at the mean time per epoch of this session, an upper bound since
/// training may stop early at its target accuracy).
///
/// Modes as `run`'s `--progress`: `bar` redraws a line per batch on stderr; `lines` prints one
/// line per epoch on stderr (accuracy in percent, as `status` shows it); `tiles` prints
/// `epoch N loss L accuracy A` on stdout for scripts, A a fraction 0…1 as in `latest.json`;
/// `none` prints nothing.
struct TrainingProgressDisplay {
  var mode: ProgressMode
  let epochs: Int
  private var epochsThisSession = 0
  private var secondsThisSession = 0.0
  private var lastEpochsDone: Int

  init(mode: ProgressMode, epochs: Int, resumedAt: Int) {
    self.mode = mode == .auto ? (isatty(STDERR_FILENO) == 1 ? .bar : .lines) : mode
    self.epochs = epochs
    self.lastEpochsDone = resumedAt
    if resumedAt > 0, self.mode == .bar || self.mode == .lines {
      StandardStream.error("training: resuming after epoch \(resumedAt) of at most \(epochs)\n")
    }
  }

  /// Redraws the bar (in `bar` mode) after a mini-batch.
  mutating func batchFinished(epoch: Int, batch: Int, of total: Int) {
    guard mode == .bar else { return }
    StandardStream.error("\r" + ProgressDisplay.bar(Double(batch) / Double(max(total, 1)), width: 20) + " training epoch \(epoch)/\(epochs) batch \(batch)/\(total)\u{1B}[K")
  }

  /// Reports a finished epoch.
  mutating func epochFinished(_ summary: EpochSummary, seconds: Double) {
    epochsThisSession += 1
    secondsThisSession += seconds
    lastEpochsDone = summary.epoch
    let eta = secondsThisSession / Double(epochsThisSession) * Double(epochs - summary.epoch)
    let line = String(
      format: "training epoch %d/%d | loss %.4f | accuracy %@ | lr %.5f | %.1f s/epoch | ETA ≤ %@",
      summary.epoch, epochs, summary.loss, TrainingStatus.percent(summary.accuracy), summary.learningRate,
      secondsThisSession / Double(epochsThisSession), ProgressDisplay.duration(eta))
    switch mode {
    case .bar: StandardStream.error("\r" + line + "\u{1B}[K\n")
    case .lines: StandardStream.error(line + "\n")
    case .tiles:
      print(String(format: "epoch %d loss %.6f accuracy %.6f", summary.epoch, summary.loss, summary.accuracy))
      fflush(stdout)
    case .none, .auto: break
    }
  }

  /// Ends the display.
  func finish() {}
}
