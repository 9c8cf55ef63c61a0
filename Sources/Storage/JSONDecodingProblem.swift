import Foundation

/// Says in one phrase why JSON bytes did not decode as a `Decodable` type, naming the field:
/// `not valid JSON: … at byte N (line L, column C)` (`JSONSyntax`), `missing field loss`,
/// `epoch: expected an integer, found "two"`, `checkpoint: expected 64 hex characters of a
/// SHA-256, found "ab"` — where Foundation's own description says only that "the data isn't in
/// the correct format" or "is missing", which names neither the field nor the fault.
public enum JSONDecodingProblem {
  /// Why bytes did not decode: their syntax error, or the decoding phrase naming the field.
  public struct Failure: Error, CustomStringConvertible {
    /// The syntax error (`JSONSyntax`), when the bytes are not JSON at all.
    public var syntax: JSONSyntax.Problem?
    /// `not valid JSON: … at byte N (line L, column C)`, or `missing field loss`, `epoch: expected
    /// an integer, found "two"`, ….
    public var description: String
  }

  /// `bytes` decoded as `T` when they are strict JSON (`JSONSyntax` first: Foundation on Linux
  /// also takes a trailing comma before `}` or `]`), else the failure saying why. The JSON files
  /// ntkbatch keeps (`latest.json`, `checksums.json`, `outputs.json`) are read through this.
  public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) -> Result<T, Failure> {
    if let syntax = JSONSyntax.firstProblem(in: bytes) {
      return .failure(Failure(syntax: syntax, description: "not valid JSON: \(syntax)"))
    }
    do {
      return .success(try JSONDecoder().decode(type, from: Data(bytes)))
    } catch {
      return .failure(Failure(syntax: nil, description: describe(error, in: bytes)))
    }
  }

  /// The phrase for `error`, thrown by `JSONDecoder` decoding `bytes` (whose syntax is valid).
  static func describe(_ error: Error, in bytes: [UInt8]) -> String {
    guard let decoding = error as? DecodingError else { return "\(error)" }
    let document = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    switch decoding {
    case .keyNotFound(let key, let context):
      let field = path(context.codingPath + [key])
      return context.codingPath.isEmpty ? "missing field \(field)" : "missing field \(field) (in \(path(context.codingPath)))"
    case .typeMismatch(let type, let context):
      return located(context.codingPath, "expected \(name(of: type)), found \(found(context.codingPath, in: document))")
    case .valueNotFound(let type, let context):
      return located(context.codingPath, "expected \(name(of: type)), found \(found(context.codingPath, in: document))")
    case .dataCorrupted(let context):
      return located(context.codingPath, context.debugDescription)
    @unknown default:
      return "\(error)"
    }
  }

  /// `FIELD: what`, or `what` alone at the top level (`the top level: …` reads no better).
  private static func located(_ codingPath: [CodingKey], _ what: String) -> String {
    codingPath.isEmpty ? what : "\(path(codingPath)): \(what)"
  }

  /// The keys joined with dots, array positions as `[i]` (`sha256.logits.npy`, `outputs.[2].path`).
  private static func path(_ codingPath: [CodingKey]) -> String {
    codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
  }

  /// What a field of `type` holds, as a message says it.
  private static func name(of type: Any.Type) -> String {
    switch type {
    case is Bool.Type: return "true or false"
    case is String.Type: return "a string"
    case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type, is UInt32.Type, is UInt.Type: return "an integer"
    case is Double.Type, is Float.Type: return "a number"
    default:
      let described = String(describing: type)
      if described.hasPrefix("Dictionary") || described.hasPrefix("KeyedDecodingContainer") { return "an object" }
      if described.hasPrefix("Array") || described.hasPrefix("UnkeyedDecodingContainer") { return "an array" }
      return described
    }
  }

  /// The value at `codingPath` in the parsed document, as a message says it: `"two"` (a string),
  /// `2.5`, `true`, `null`, `an object`, `an array`, or `an unreadable value`.
  private static func found(_ codingPath: [CodingKey], in document: Any?) -> String {
    var value = document
    for key in codingPath {
      if let index = key.intValue, let array = value as? [Any], index < array.count {
        value = array[index]
      } else if let object = value as? [String: Any] {
        value = object[key.stringValue]
      } else {
        return "an unreadable value"
      }
    }
    switch value {
    case nil, is NSNull: return "null"
    case let text as String: return "\"\(text.prefix(60))\(text.count > 60 ? "…" : "")\""
    case let number as NSNumber:
      // JSONSerialization's booleans are NSNumbers of type "c" (no JSON number decodes as a char).
      if String(cString: number.objCType) == "c" { return number.boolValue ? "true" : "false" }
      return number.stringValue
    case is [Any]: return "an array"
    case is [String: Any]: return "an object"
    default: return "an unreadable value"
    }
  }
}
