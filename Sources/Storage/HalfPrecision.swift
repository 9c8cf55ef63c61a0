/// Float32 → float16 (IEEE 754 binary16) conversion of whole buffers, round to nearest even,
/// with integer operations only, so it runs at memory speed on CPUs without F16C and gives the
/// same bits as Swift's `Float16(_: Float)` for every finite value, ±infinity and the canonical NaN
/// (any NaN becomes the quiet NaN 0x7e00 with its sign).
///
/// Source: F. Giesen, "float->half variants" (2016), `float_to_half_fast3_rtne`: subnormal
/// results by a magic-number addition in float32, normal results by integer rounding of the
/// mantissa; IEEE 754-2008 §3.6 (binary16: 1 sign, 5 exponent, 10 significand bits, bias 15).
public enum HalfPrecision {
  /// Converts `count` values from `source` into `target` (binary16 bit patterns).
  ///
  /// - Returns: how many finite values became ±infinity (|x| ≥ 65520, beyond float16's range).
  @discardableResult
  public static func convert(_ source: UnsafePointer<Float>, count: Int, into target: UnsafeMutablePointer<UInt16>) -> Int {
    let f16max: UInt32 = (127 + 16) << 23       // 65536: from here on, infinity (or NaN)
    let infinity: UInt32 = 255 << 23
    let denormMagic: UInt32 = ((127 - 15) + (23 - 10) + 1) << 23
    let magic = Float(bitPattern: denormMagic)
    var overflow = 0
    for i in 0..<count {
      let bits = source[i].bitPattern
      let sign = bits & 0x8000_0000
      let magnitude = bits ^ sign
      var half: UInt32
      if magnitude >= f16max {
        half = magnitude > infinity ? 0x7E00 : 0x7C00
        overflow &+= magnitude < infinity ? 1 : 0
      } else if magnitude < (113 << 23) {
        // Subnormal or zero: align the 10 mantissa bits at the bottom with a float addition.
        half = (Float(bitPattern: magnitude) + magic).bitPattern &- denormMagic
      } else {
        // Normal: rebias the exponent and round the mantissa to nearest even.
        let odd = (magnitude >> 13) & 1
        half = (magnitude &+ (UInt32(bitPattern: (15 - 127) << 23) &+ 0xFFF) &+ odd) >> 13
        // A value that rounds up to 65520 … 65535 carries into the infinity exponent.
        overflow &+= half >= 0x7C00 ? 1 : 0
      }
      target[i] = UInt16(truncatingIfNeeded: half | (sign >> 16))
    }
    return overflow
  }
}
