/// The scale s of the eNTK (`ntk.normalization`):
/// `G[i·m + a, j·m + b] = s · Σ_p J(x_i)[a, p] · J(x_j)[b, p]`.
///
/// Source: the original tool's definition (README, "What it computes"); "sqrt-params" is its
/// default, chosen so that float16 storage does not overflow.
public enum KernelNormalization: String, Codable, CaseIterable, Sendable {
  /// s = 1: the textbook eNTK.
  case none
  /// s = 1/√P, P the number of trainable parameters.
  case sqrtParams = "sqrt-params"
}
