import Storage

/// What to change when values overflow, from the settings in use: it never suggests what is
/// already set (a float64 assemble, normalization `sqrt-params`, precision float64).
public enum OverflowHint {
  /// The advice after `assemble --dtype dtype` of a run computed in `precision` with
  /// `normalization` found values outside `dtype`'s finite range: a wider `--dtype` (float32 for
  /// float16 output, float64 for float32), and a new run with `sqrt-params` when the run has `none`.
  public static func assemble(dtype: NpyDType, precision: TilePrecision, normalization: KernelNormalization) -> String {
    var options: [String] = []
    switch dtype {
    case .float16: options.append(precision == .float64 ? "--dtype float32 or float64" : "--dtype float32")
    case .float32: options.append("--dtype float64")
    default: break
    }
    if normalization == .none { options.append("a run with ntk.normalization sqrt-params (the kernel × 1/√P)") }
    return options.isEmpty ? "" : "Use " + options.joined(separator: ", or ")
  }

  /// The advice after a tile computed in `precision` with `normalization` came out non-finite from
  /// finite weights and inputs.
  public static func tile(precision: TilePrecision, normalization: KernelNormalization) -> String {
    var options: [String] = []
    if precision == .float32 { options.append("ntk.precision float64") }
    if normalization == .none { options.append("ntk.normalization sqrt-params") }
    return options.isEmpty
      ? "it overflows even in float64 with sqrt-params: check the scale of the weights and inputs"
      : options.joined(separator: " or ") + " may avoid it"
  }

  /// Runs `body`; an `.overflow` error it throws gets the `assemble` advice for `identity`'s
  /// precision and normalization appended.
  static func adding<Result>(to identity: RunIdentity, dtype: NpyDType, _ body: () throws -> Result) throws -> Result {
    do { return try body() } catch var error as CheckpointError where error.code == .overflow {
      let hint = assemble(dtype: dtype, precision: identity.precision, normalization: identity.normalization)
      if !hint.isEmpty { error.message += " " + hint }
      throw error
    }
  }
}
