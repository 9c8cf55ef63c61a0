import Foundation

/// Checks bytes against the JSON grammar of RFC 8259 and says where the first syntax error is:
/// its byte offset, line and column, and what was expected there.
///
/// Foundation's `JSONDecoder` says only that data "isn't in the correct format", and on Linux
/// accepts some input that is not JSON (a trailing comma before `}` or `]`); ntkbatch reads every
/// JSON file it is given or keeps (manifests, `RUN/training/latest.json`, `RUN/checksums.json`,
/// `RUN/outputs.json`, a `.safetensors` header) through this check first, so that a one-line error
/// can point at the character to fix, as `jq` and Python's `json` do.
///
/// One forward pass with an explicit stack (no recursion: memory bounded by the input, any
/// nesting depth), never traps. Bytes from 0x80 up are accepted inside strings (UTF-8 itself is
/// checked by the callers); limits of a particular decoder (nesting depth, a lone surrogate in a
/// `\u` escape, numbers beyond `Double`) are not syntax errors here.
public enum JSONSyntax {
  /// The first syntax error of a document.
  public struct Problem: Equatable, Sendable, CustomStringConvertible {
    /// Byte offset of the offending character (the length of the input for an unexpected end).
    public var offset: Int
    /// Line of that character, from 1 (lines end with `\n`).
    public var line: Int
    /// Column of that character, from 1, counted in Unicode scalars from the start of its line.
    public var column: Int
    /// What is wrong, e.g. `expected ',' or '}' after an object member, found '"'`.
    public var what: String
    /// What follows the position in the message, if anything (e.g. why a trailing comma is refused).
    public var detail: String?

    /// `WHAT at byte N (line L, column C)`, then `, DETAIL` when there is one.
    public var description: String {
      "\(what) at byte \(offset) (line \(line), column \(column))" + (detail.map { ", \($0)" } ?? "")
    }
  }

  private enum Container {
    case object
    case array
  }

  /// Where the parser is inside its innermost container (or at the top level).
  private enum State {
    /// A value must come next: the document's, or a member's after `:`.
    case value
    /// After `,` in an array: a value.
    case element
    /// Just after `{`: a key or `}`.
    case firstKey
    /// After `,` in an object: a key.
    case key
    /// After a key: `:`.
    case colon
    /// Just after `[`: a value or `]`.
    case firstElement
    /// After a complete value inside a container: `,` or the closing bracket.
    case separator
    /// After the document's value: only white space.
    case end
  }

  /// The first syntax error in `bytes`, or `nil` when they are one JSON value (RFC 8259)
  /// surrounded by optional white space.
  public static func firstProblem(in bytes: [UInt8]) -> Problem? {
    var stack: [Container] = []
    var state = State.value
    var position = 0
    var lastComma = 0

    func problem(_ what: String, at offset: Int, detail: String? = nil) -> Problem {
      var line = 1
      var lineStart = 0
      for index in 0..<min(offset, bytes.count) where bytes[index] == UInt8(ascii: "\n") {
        line += 1
        lineStart = index + 1
      }
      // Unicode scalars from the line's start: every byte that is not a UTF-8 continuation byte.
      let column = bytes[lineStart..<min(offset, bytes.count)].filter { $0 & 0xC0 != 0x80 }.count + 1
      return Problem(offset: offset, line: line, column: column, what: what, detail: detail)
    }
    /// The character at `offset` as a message shows it: `'x'`, `U+0007`, `the end of the input`.
    func found(_ offset: Int) -> String {
      guard offset < bytes.count else { return "the end of the input" }
      let byte = bytes[offset]
      if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
      if byte < 0x80 { return String(format: "U+%04X", Int(byte)) }
      // A non-ASCII character: decode its UTF-8 sequence for the message.
      var end = offset + 1
      while end < bytes.count, end - offset < 4, bytes[end] & 0xC0 == 0x80 { end += 1 }
      if let text = String(validating: bytes[offset..<end], as: UTF8.self), let scalar = text.unicodeScalars.first {
        return "'\(text)' (U+\(String(scalar.value, radix: 16, uppercase: true)))"
      }
      return String(format: "the byte 0x%02X", Int(byte))
    }
    /// The end of the container just closed, or of a scalar value: what may follow.
    func afterValue() -> State { stack.isEmpty ? .end : .separator }

    while true {
      // White space between tokens.
      while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
      let byte: UInt8? = position < bytes.count ? bytes[position] : nil
      switch state {
      case .end:
        guard byte != nil else { return nil }
        return problem("unexpected \(found(position)) after the end of the JSON value", at: position)
      case .colon:
        guard byte == UInt8(ascii: ":") else { return problem("expected ':' after the key, found \(found(position))", at: position) }
        position += 1
        state = .value
      case .separator:
        let closing = stack.last == .object ? UInt8(ascii: "}") : UInt8(ascii: "]")
        if byte == UInt8(ascii: ",") {
          lastComma = position
          position += 1
          state = stack.last == .object ? .key : .element
        } else if byte == closing {
          stack.removeLast()
          position += 1
          state = afterValue()
        } else {
          let what = stack.last == .object ? "expected ',' or '}' after an object member" : "expected ',' or ']' after an array element"
          return problem("\(what), found \(found(position))", at: position)
        }
      case .firstKey, .key:
        if byte == UInt8(ascii: "\"") {
          if let error = string(bytes, &position, problem) { return error }
          state = .colon
        } else if byte == UInt8(ascii: "}") {
          guard state == .firstKey else {
            return problem("a trailing comma", at: lastComma, detail: "before a closing } or ] (JSON allows none; jq and Python's json refuse it)")
          }
          stack.removeLast()
          position += 1
          state = afterValue()
        } else {
          return problem("expected a key in double quotes\(state == .firstKey ? " or '}'" : ""), found \(found(position))", at: position)
        }
      case .value, .element, .firstElement:
        guard let byte else {
          if stack.isEmpty { return problem("no JSON value (the input is empty or only white space)", at: position) }
          return problem("unexpected end of the input, expected a value", at: position)
        }
        switch byte {
        case UInt8(ascii: "{"):
          stack.append(.object)
          position += 1
          state = .firstKey
        case UInt8(ascii: "["):
          stack.append(.array)
          position += 1
          state = .firstElement
        case UInt8(ascii: "]") where state == .firstElement:
          stack.removeLast()
          position += 1
          state = afterValue()
        case UInt8(ascii: "]") where state == .element:
          return problem("a trailing comma", at: lastComma, detail: "before a closing } or ] (JSON allows none; jq and Python's json refuse it)")
        case UInt8(ascii: "\""):
          if let error = string(bytes, &position, problem) { return error }
          state = afterValue()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
          if let error = number(bytes, &position, problem) { return error }
          state = afterValue()
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
          let word = byte == UInt8(ascii: "t") ? "true" : byte == UInt8(ascii: "f") ? "false" : "null"
          let utf8 = Array(word.utf8)
          guard position + utf8.count <= bytes.count, Array(bytes[position..<(position + utf8.count)]) == utf8 else {
            var end = position
            while end < bytes.count, end - position < 12, (bytes[end] | 0x20) >= UInt8(ascii: "a"), (bytes[end] | 0x20) <= UInt8(ascii: "z") { end += 1 }
            return problem("unexpected '\(String(decoding: bytes[position..<end], as: UTF8.self))', expected a value (true, false and null are spelled in lower case)", at: position)
          }
          position += utf8.count
          state = afterValue()
        default:
          var what = "expected a value (an object, array, string, number, true, false or null), found \(found(position))"
          if byte == UInt8(ascii: "'") { what += " (JSON strings take double quotes)" }
          return problem(what, at: position)
        }
      }
    }
  }

  /// Scans the string starting at `position` (its opening quote); moves `position` past its
  /// closing quote, or returns the problem.
  private static func string(_ bytes: [UInt8], _ position: inout Int,
                             _ problem: (String, Int, String?) -> Problem) -> Problem? {
    let start = position
    position += 1
    while position < bytes.count {
      let byte = bytes[position]
      switch byte {
      case UInt8(ascii: "\""):
        position += 1
        return nil
      case UInt8(ascii: "\\"):
        guard position + 1 < bytes.count else { break }
        let escape = bytes[position + 1]
        if escape == UInt8(ascii: "u") {
          let digits = bytes[(position + 2)..<min(position + 6, bytes.count)]
          guard digits.count == 4, digits.allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }) else {
            return problem("invalid escape in a string: \\u must be followed by 4 hex digits", position, nil)
          }
          position += 6
        } else if "\"\\/bfnrt".utf8.contains(escape) {
          position += 2
        } else {
          let shown = escape >= 0x21 && escape < 0x7F ? String(Character(Unicode.Scalar(escape))) : String(format: "U+%04X", Int(escape))
          return problem("invalid escape '\\\(shown)' in a string (JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)", position, nil)
        }
        continue
      case 0x00..<0x20:
        return problem(String(format: "a control character (U+%04X) inside a string (write it escaped, e.g. \\n; a string cannot span lines)", Int(byte)), position, nil)
      default:
        break
      }
      position += 1
    }
    return problem("unterminated string (no closing \")", start, nil)
  }

  /// Scans the number starting at `position`; moves `position` past it, or returns the problem.
  private static func number(_ bytes: [UInt8], _ position: inout Int,
                             _ problem: (String, Int, String?) -> Problem) -> Problem? {
    let start = position
    func isDigit(_ at: Int) -> Bool { at < bytes.count && bytes[at] >= UInt8(ascii: "0") && bytes[at] <= UInt8(ascii: "9") }
    func digits() -> Int {
      let from = position
      while isDigit(position) { position += 1 }
      return position - from
    }
    if bytes[position] == UInt8(ascii: "-") { position += 1 }
    guard isDigit(position) else { return problem("invalid number: expected a digit after '-'", position, nil) }
    if bytes[position] == UInt8(ascii: "0"), isDigit(position + 1) {
      return problem("invalid number: a leading zero (JSON writes 7, not 07)", start, nil)
    }
    _ = digits()
    if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
      position += 1
      guard digits() > 0 else { return problem("invalid number: expected a digit after '.'", position, nil) }
    }
    if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
      position += 1
      if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
      guard digits() > 0 else { return problem("invalid number: expected a digit in the exponent", position, nil) }
    }
    return nil
  }
}
