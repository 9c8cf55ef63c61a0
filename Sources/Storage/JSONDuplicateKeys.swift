/// Finds a key that occurs twice in the same JSON object.
///
/// RFC 8259 §4 says object names "SHOULD be unique" and leaves duplicates' meaning to the reader;
/// Foundation's `JSONSerialization` and `JSONDecoder` silently keep the last value. For a manifest
/// or a `.safetensors` header that is ambiguous input (two readers may take different values), so
/// ntkbatch refuses it, as the safetensors reference loader does.
///
/// Call it on bytes a JSON parser has already accepted: it is a single forward pass over the
/// bytes with an explicit stack (no recursion, memory bounded by the input), comparing keys after
/// decoding escapes (`"a"` and `"\u0061"` are the same key). On input that is not JSON it never
/// traps; it may then return `nil` or an arbitrary key.
public enum JSONDuplicateKeys {
  /// A repeated key.
  public struct Duplicate: Equatable, Sendable {
    /// The key, decoded.
    public var key: String
    /// Where it is: the enclosing keys and array positions joined with dots, ending in the key
    /// (e.g. `dataset.name`, `model.train.lr`, `linear.bias`, `items.[2].x`).
    public var path: String
  }

  private struct Frame {
    var isObject: Bool
    var path: String
    var keys: Set<String> = []
    var expectingKey = true
    var currentKey: String?
    var arrayIndex = 0
  }

  /// The first key found twice in one object (in document order of the second occurrence), or `nil`.
  public static func first(in bytes: [UInt8]) -> Duplicate? {
    var stack: [Frame] = []
    var position = 0
    /// The path of a value about to start at this point (inside the top frame).
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
        let (text, end) = string(in: bytes, from: position + 1)
        position = end
        if let last = stack.indices.last, stack[last].isObject, stack[last].expectingKey {
          let path = stack[last].path.isEmpty ? text : stack[last].path + "." + text
          if stack[last].keys.contains(text) { return Duplicate(key: text, path: path) }
          stack[last].keys.insert(text)
          stack[last].expectingKey = false
          stack[last].currentKey = text
        }
      default:
        position += 1
      }
    }
    return nil
  }

  /// Decodes the string whose contents start at `start` (after the opening quote); returns it and
  /// the position after the closing quote (or the end of the bytes).
  private static func string(in bytes: [UInt8], from start: Int) -> (String, Int) {
    var scalars = String.UnicodeScalarView()
    var position = start
    var segment = start
    func flush(_ end: Int) {
      if end > segment { scalars.append(contentsOf: String(decoding: bytes[segment..<end], as: UTF8.self).unicodeScalars) }
    }
    func hex4(_ at: Int) -> UInt32? {
      guard at + 4 <= bytes.count else { return nil }
      var value: UInt32 = 0
      for byte in bytes[at..<(at + 4)] {
        guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else { return nil }
        value = value << 4 | UInt32(digit)
      }
      return value
    }
    while position < bytes.count {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        flush(position)
        return (String(scalars), position + 1)
      }
      guard byte == UInt8(ascii: "\\"), position + 1 < bytes.count else {
        position += 1
        continue
      }
      flush(position)
      let escape = bytes[position + 1]
      position += 2
      switch escape {
      case UInt8(ascii: "b"): scalars.append("\u{8}")
      case UInt8(ascii: "f"): scalars.append("\u{C}")
      case UInt8(ascii: "n"): scalars.append("\n")
      case UInt8(ascii: "r"): scalars.append("\r")
      case UInt8(ascii: "t"): scalars.append("\t")
      case UInt8(ascii: "u"):
        guard let unit = hex4(position) else { scalars.append("\u{FFFD}"); break }
        position += 4
        if (0xD800..<0xDC00).contains(unit), position + 6 <= bytes.count, bytes[position] == UInt8(ascii: "\\"),
           bytes[position + 1] == UInt8(ascii: "u"), let low = hex4(position + 2), (0xDC00..<0xE000).contains(low) {
          position += 6
          scalars.append(Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)) ?? "\u{FFFD}")
        } else {
          scalars.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
        }
      default: scalars.append(Unicode.Scalar(escape))  // \" \\ \/
      }
      segment = position
    }
    flush(bytes.count)
    return (String(scalars), bytes.count)
  }
}
