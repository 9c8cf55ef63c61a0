import Checkpoint
import Engine

extension KernelVariant {
  /// The engine's kernel for the manifest's `ntk.kernel`: the one mapping from Checkpoint's
  /// `KernelVariant` (what a run stores: tile bytes, assembled shape) to Engine's `NTKVariant`
  /// (what it computes: Jacobian rows, contractions, tile scalars). Checkpoint does not depend on
  /// Engine, so the mapping lives here, where both are seen.
  public var engineVariant: NTKVariant {
    switch self {
    case .full: return .full
    case .trace: return .trace
    case .pseudo: return .pseudo
    case .diagonal: return .diagonal
    }
  }
}
