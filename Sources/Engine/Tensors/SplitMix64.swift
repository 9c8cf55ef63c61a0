#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64, the 64-bit pseudo-random generator of Steele, Lea & Flood, "Fast splittable
/// pseudorandom number generators" (OOPSLA 2014), as published by Vigna (prng.di.unimi.it).
///
/// The whole generator state is the single `state` word, so it is trivially serialisable
/// (`Codable`) and a run can resume exactly. No global state: callers pass a seed explicitly.
public struct SplitMix64: RandomNumberGenerator, Codable, Equatable, Sendable {
  /// The generator's entire state.
  public var state: UInt64

  /// A generator whose first output is derived from `seed`.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits: `z = (state += 0x9E3779B97F4A7C15)`, then two xor-shift-multiply rounds.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform double in `[0, 1)`: the top 53 bits of `next()` times 2⁻⁵³.
  public mutating func nextUnit() -> Double {
    Double(next() >> 11) * 0x1.0p-53
  }

  /// A uniform double in `[low, high)`.
  public mutating func nextUniform(_ low: Double, _ high: Double) -> Double {
    low + (high - low) * nextUnit()
  }

  /// A standard normal double by the Box–Muller transform of two `nextUnit()` draws:
  /// `√(−2 ln u₁) · cos(2π u₂)` with `u₁ = 1 − nextUnit() ∈ (0, 1]`.
  public mutating func nextNormal() -> Double {
    let u1 = 1 - nextUnit()
    let u2 = nextUnit()
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
  }
}
