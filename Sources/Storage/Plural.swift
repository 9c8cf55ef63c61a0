/// A count and its noun for messages, in the singular for exactly one and the plural otherwise:
/// `Plural.count(1, "tile")` is `1 tile`, `Plural.count(6, "tile")` `6 tiles`, `Plural.count(0,
/// "tile")` `0 tiles` — never `1 tiles` nor `1 tile(s)`. Every message that prints a count with a
/// noun (tiles, samples, shards, epochs, objects, segments, bytes, …) goes through it.
public enum Plural {
  /// `count` and its noun: `1 tile`, `2 tiles`, `3 batches`, `2 entries`.
  ///
  /// - Parameter plural: the plural when it is not regular (`singular` + `s`, `es` after s, x,
  ///   ch or sh, `ies` for a consonant and `y`).
  public static func count<N: BinaryInteger>(_ count: N, _ singular: String, plural: String? = nil) -> String {
    "\(count) \(noun(count, singular, plural: plural))"
  }

  /// The noun alone, as `count` would write it (for `3 of 5 tiles`: the noun agrees with 5).
  public static func noun<N: BinaryInteger>(_ count: N, _ singular: String, plural: String? = nil) -> String {
    count == 1 ? singular : plural ?? regularPlural(of: singular)
  }

  /// English's regular plural of `singular` (the last word of it when it has several): `ies`
  /// for a consonant and `y`, `es` after s, x, z, sh and a soft ch (`batches`, `benches`; not
  /// `epochs`), else `s`.
  static func regularPlural(of singular: String) -> String {
    let vowels = Set("aeiou")
    if singular.hasSuffix("y"), let before = singular.dropLast().last, !vowels.contains(before) {
      return singular.dropLast() + "ies"
    }
    if ["s", "x", "z", "sh", "tch", "nch", "rch"].contains(where: { singular.hasSuffix($0) }) { return singular + "es" }
    return singular + "s"
  }
}
