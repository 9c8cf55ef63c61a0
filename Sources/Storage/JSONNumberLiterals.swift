/// Finds the numbers of a JSON document written with a fraction or an exponent (`20.0`, `2e1`,
/// `2.5`), by where they are.
///
/// A JSON decoder hands `20.0` to an integer field as 20, and `20.0000000000000001` too (it rounds
/// to 20.0 in `Double`): the literal's form is lost. A field that takes an integer (a manifest's
/// `ntk.tileSamples`, `dataset.subsample`, …) refuses every such literal, whatever its value, so
/// that what is accepted does not depend on floating-point rounding; the validator asks this
/// scan which fields were written that way, and the message shows the literal as written.
///
/// Call it on bytes a JSON parser has already accepted: one forward pass (`JSONPathScan`); on
/// input that is not JSON it never traps.
public enum JSONNumberLiterals {
  /// The numbers written with a `.`, `e` or `E`, as written, by path: the enclosing keys and
  /// array positions joined with dots, as `JSONDuplicateKeys` names them (e.g.
  /// `ntk.tileSamples` → `"20.0"`, `items.[2].x`).
  public static func nonIntegral(in bytes: [UInt8]) -> [String: String] {
    var found: [String: String] = [:]
    JSONPathScan.scan(bytes) { event in
      if case let .number(literal, path) = event,
         literal.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 | 0x20 == UInt8(ascii: "e") }) {
        found[path] = literal
      }
      return true
    }
    return found
  }
}
