import Checkpoint
import Engine

/// How much a pipeline tells on stderr besides its progress display.
public enum ReportDetail: Equatable {
  /// Nothing but errors (`--progress none`).
  case quiet
  /// Start, end and memory-plan lines.
  case normal
  /// Also the contraction choice and, at the end, peak memory and Jacobian statistics (`--progress lines`).
  case detailed
}

/// Where a pipeline reports progress: the command line's displays (`ProgressDisplay`,
/// `TrainingProgressDisplay`) implement it; the pipeline never draws anything itself.
public protocol RunReporter: AnyObject {
  /// What the pipeline's own lines include.
  var detail: ReportDetail { get }
  /// Tiles are about to be computed (a fresh display for this session).
  func tilesStarted()
  /// One tile journaled: its index, block coordinates (I, J), compute seconds, and the runner's totals.
  func tileFinished(index: Int, row: Int, column: Int, seconds: Double, state: RunProgress)
  /// No more tiles this session (ends a redrawn bar).
  func tilesFinished()
  /// Training starts with at most `epochs` epochs, `resumedAt` of them committed by earlier sessions.
  func trainingStarted(epochs: Int, resumedAt: Int)
  /// Mini-batch `batch` of `total` of `epoch` done.
  func batchFinished(epoch: Int, batch: Int, of total: Int)
  /// An epoch committed, after `seconds`.
  func epochFinished(_ summary: EpochSummary, seconds: Double)
  /// Training ends (finished, stopped, or failed).
  func trainingFinished()
}

/// Stop requests from outside the pipeline (the command line's SIGINT/SIGTERM watch).
public protocol StopRequests: AnyObject {
  /// Cancelled at the first stop request; the tile computer checks it between layers and BLAS calls.
  var cancellation: TileCancellation { get }
  /// Whether a stop was requested (checked between tiles and between epochs).
  var isStopRequested: Bool { get }
  /// Runs `body` (storing an object and appending its journal record) so that no forced exit
  /// interrupts it.
  func committing(_ body: () throws -> Void) throws
  /// Runs `body` with `activity` (e.g. "the training epoch in progress") as what a stop request
  /// lets finish before stopping, instead of abandoning a tile.
  func finishing<R>(_ activity: String, _ body: () throws -> R) throws -> R
}
