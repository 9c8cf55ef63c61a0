/// Finds the numbers of a JSON document written with a fraction or an exponent (`20.0`, `2e1`,
/// `2.5`), by where they are.
///
/// A JSON decoder hands `20.0` to an integer field as 20, and `20.0000000000000001` too (it rounds
/// to 20.0 in `Double`): the literal's form is lost. A field that takes an integer (a manifest's
/// `ntk.tileSamples`, `dataset.subsample`, …) refuses every such literal, whatever its value, so
/// that what is accepted does not depend on floating-point rounding; the validator asks this
/// scan which fields were written that way, and the message shows the literal as written.
///
/// Call it on bytes a JSON parser has already accepted: one forward pass with an explicit stack
/// (no recursion), strings skipped with their escapes; on input that is not JSON it never traps.
public enum JSONNumberLiterals {
  private struct Frame {
    var isObject: Bool
    var path: String
    var currentKey: String?
    var expectingKey = true
    var arrayIndex = 0
  }

  /// The numbers written with a `.`, `e` or `E`, as written, by path: the enclosing keys and
  /// array positions joined with dots, as `JSONDuplicateKeys` names them (e.g.
  /// `ntk.tileSamples` → `"20.0"`, `items.[2].x`). Keys are compared as written (no escapes
  /// decoded: a manifest's keys are plain ASCII).
  public static func nonIntegral(in bytes: [UInt8]) -> [String: String] {
    var found: [String: String] = [:]
    var stack: [Frame] = []
    var position = 0
    func childPath() -> String {
      guard let top = stack.last else { return "" }
      let component = top.isObject ? (top.currentKey ?? "") : "[\(top.arrayIndex)]"
      return top.path.isEmpty ? component : top.path + "." + component
    }
    while position < bytes.count {
      let byte = bytes[position]
      switch byte {
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        stack.append(Frame(isObject: byte == UInt8(ascii: "{"), path: childPath()))
        position += 1
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        if !stack.isEmpty { stack.removeLast() }
        position += 1
      case UInt8(ascii: ","):
        if let last = stack.indices.last {
          if stack[last].isObject { stack[last].expectingKey = true } else { stack[last].arrayIndex += 1 }
        }
        position += 1
      case UInt8(ascii: "\""):
        let start = position + 1
        position += 1
        while position < bytes.count, bytes[position] != UInt8(ascii: "\"") {
          position += bytes[position] == UInt8(ascii: "\\") ? 2 : 1
        }
        let text = String(decoding: bytes[start..<min(position, bytes.count)], as: UTF8.self)
        position += 1
        if let last = stack.indices.last, stack[last].isObject, stack[last].expectingKey {
          stack[last].currentKey = text
          stack[last].expectingKey = false
        }
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        let start = position
        let numberBytes = Set("0123456789+-.eE".utf8)
        while position < bytes.count, numberBytes.contains(bytes[position]) { position += 1 }
        let literal = bytes[start..<position]
        if literal.contains(where: { $0 == UInt8(ascii: ".") || $0 | 0x20 == UInt8(ascii: "e") }) {
          found[childPath()] = String(decoding: literal, as: UTF8.self)
        }
      default:
        position += 1
      }
    }
    return found
  }
}
