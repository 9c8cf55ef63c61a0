import Checkpoint
import Engine
import Pipeline

/// The command line's `RunReporter`: `--progress` drawn by `ProgressDisplay` (tiles) and
/// `TrainingProgressDisplay` (epochs), one fresh display per stage.
final class ProgressReporter: RunReporter {
  let mode: ProgressMode
  private var tiles: ProgressDisplay?
  private var training: TrainingProgressDisplay?

  init(mode: ProgressMode) { self.mode = mode }

  /// `none`: quiet; `lines`: detailed; otherwise normal.
  var detail: ReportDetail {
    switch mode {
    case .none: return .quiet
    case .lines: return .detailed
    case .auto, .bar, .tiles: return .normal
    }
  }

  func tilesStarted() { tiles = ProgressDisplay(mode: mode) }

  func tileFinished(index: Int, row: Int, column: Int, seconds: Double, state: RunProgress) {
    tiles?.tileFinished(index: index, row: row, column: column, seconds: seconds, state: state)
  }

  func tilesFinished() { tiles?.finish() }

  func trainingStarted(epochs: Int, resumedAt: Int) {
    training = TrainingProgressDisplay(mode: mode, epochs: epochs, resumedAt: resumedAt)
  }

  func batchFinished(epoch: Int, batch: Int, of total: Int) { training?.batchFinished(epoch: epoch, batch: batch, of: total) }

  func epochFinished(_ summary: EpochSummary, seconds: Double) { training?.epochFinished(summary, seconds: seconds) }

  func trainingFinished() { training?.finish() }
}
