/// Sizes of memory in refusals, one rule for every command (`TileMemoryPlan`'s refusals,
/// `WeightsLoader.refuseOverBudget`, `slurm --mem`): whole MiB (2²⁰ bytes) from 1 MiB on, else
/// bytes ("250000 bytes", not "1 MiB" or "0 MiB"), rounded by what the number is for:
/// - a **need** (an estimated peak, weights and a gradient, the process's own size) is rounded
///   **up**, so a budget of the number printed holds it;
/// - a **limit** (`ntk.memoryBudget`, the machine's MemTotal) is rounded **down**, so no more is
///   promised than there is.
/// A need over a limit then always prints as the larger number (⌈need⌉ > ⌊limit⌋), never as
/// "needs about 70 MiB, over the budget of 70 MiB". (The plan lines of `check` and `run`, of a
/// plan that fits, print budget and peak alike in MiB rounded up: a fitting peak never prints
/// above its budget, and a budget of the peak printed holds it — the need a refusal names.)
public enum MemorySizeText {
  /// `bytes` in MiB rounded up.
  public static func mebibytesRoundedUp(_ bytes: Int) -> Int { (bytes + (1 << 20) - 1) >> 20 }

  /// A need: "N MiB" rounded up, or "N bytes" below 1 MiB.
  public static func need(_ bytes: Int) -> String {
    bytes < 1 << 20 ? "\(bytes) byte\(bytes == 1 ? "" : "s")" : "\(mebibytesRoundedUp(bytes)) MiB"
  }

  /// A limit: "N MiB" rounded down, or "N bytes" below 1 MiB.
  public static func limit(_ bytes: Int) -> String {
    bytes < 1 << 20 ? "\(bytes) byte\(bytes == 1 ? "" : "s")" : "\(bytes >> 20) MiB"
  }
}
