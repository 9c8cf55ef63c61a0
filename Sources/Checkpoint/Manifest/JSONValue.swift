import Foundation

/// A parsed JSON value, kept as written so that the manifest validator can name the field and
/// describe the value it found. Integers that fit `Int` stay exact; other numbers are `Double`;
/// numbers too large even for `Double` (e.g. `1e400`) become `.number(.infinity)`.
///
/// Parsing uses Foundation's `JSONDecoder`, which rejects invalid UTF-8 and nesting deeper than
/// its limit with an error instead of recursing without bound.
indirect enum JSONValue: Decodable, Equatable {
  case null
  case bool(Bool)
  case integer(Int)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Int.self) {
      self = .integer(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try Self.attempt(String.self, container) {
      self = .string(value)
    } else if let value = try Self.attempt([JSONValue].self, container) {
      self = .array(value)
    } else if let value = try Self.attempt([String: JSONValue].self, container) {
      self = .object(value)
    } else {
      // Not null, bool, string, array, object or a representable number: a number outside
      // Double's range (e.g. 1e400).
      self = .number(.infinity)
    }
  }

  /// Decodes `type` at this level; `nil` if the value here is of another JSON type. Errors from
  /// inside (a lone surrogate, a bad escape in a nested string) propagate: not valid JSON.
  private static func attempt<T: Decodable>(_ type: T.Type, _ container: SingleValueDecodingContainer) throws -> T? {
    do {
      return try container.decode(type)
    } catch DecodingError.typeMismatch(_, let context) where context.codingPath.count == container.codingPath.count {
      return nil
    }
  }

  /// The value as an `Int` when it is a number equal to one (`20`, or `20.0` decoded), else `nil`.
  var integerValue: Int? {
    switch self {
    case .integer(let value): return value
    case .number(let value): return Int(exactly: value)
    default: return nil
    }
  }

  /// How the value reads in a message: `"abc"`, `-3`, `1.5`, `true`, `null`, `an array`, `an object`,
  /// `an integer above 9223372036854775807` (an integer out of `Int`'s range).
  var summary: String {
    switch self {
    case .null: return "null"
    case .bool(let value): return value ? "true" : "false"
    case .integer(let value): return String(value)
    case .number(let value):
      // An integer beyond Int's range is decoded as a Double: say so rather than print 9.2e+18.
      if value.isFinite, value == value.rounded(), abs(value) >= 0x1p63 {
        return value > 0 ? "an integer above \(Int.max)" : "an integer below \(Int.min)"
      }
      return value.isFinite ? String(value) : "a number too large to represent"
    case .string(let value):
      let shown = value.count > 60 ? String(value.prefix(60)) + "…" : value
      let escaped = shown.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" ? String($0) : $0.escaped(asASCII: true) }.joined()
      return "\"" + escaped + "\""
    case .array: return "an array"
    case .object: return "an object"
    }
  }
}
