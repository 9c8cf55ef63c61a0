/// One forward pass over the bytes of a JSON document that a parser has already accepted,
/// telling each object and array opened and closed, each object key and each number literal, with
/// its path: the enclosing keys and array positions joined with dots (`dataset.name`,
/// `model.train.lr`, `items.[2].x`). Keys are decoded (`"a"` and `"\u0061"` are one key);
/// numbers are given as written (`20.0`, `2e1`). An explicit stack, no recursion: memory is
/// bounded by the input. On input that is not JSON it never traps (the events are then arbitrary).
///
/// What `JSONDuplicateKeys` and `JSONNumberLiterals` look for in a manifest or a `.safetensors`
/// header, which Foundation's decoders hide (they keep a repeated key's last value, and hand
/// `20.0` to an integer field as 20).
enum JSONPathScan {
  /// What the scan meets, in document order.
  enum Event {
    /// `{` (`isObject`) or `[`.
    case open(isObject: Bool)
    /// `}` or `]`.
    case close
    /// An object's key, decoded, and the path of its value (the enclosing path, then the key).
    case key(String, path: String)
    /// A number literal as written, and its path.
    case number(String, path: String)
  }

  private struct Frame {
    var isObject: Bool
    var path: String
    var expectingKey = true
    var currentKey: String?
    var arrayIndex = 0
  }

  /// Calls `visit` for every event in document order until it returns `false`.
  static func scan(_ bytes: [UInt8], _ visit: (Event) -> Bool) {
    var stack: [Frame] = []
    var position = 0
    /// The path of a value about to start at this point (inside the top frame).
    func childPath() -> String {
      guard let top = stack.last else { return "" }
      let component = top.isObject ? (top.currentKey ?? "") : "[\(top.arrayIndex)]"
      return top.path.isEmpty ? component : top.path + "." + component
    }
    let numberBytes = Set("0123456789+-.eE".utf8)
    while position < bytes.count {
      let byte = bytes[position]
      switch byte {
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        stack.append(Frame(isObject: byte == UInt8(ascii: "{"), path: childPath()))
        position += 1
        guard visit(.open(isObject: byte == UInt8(ascii: "{"))) else { return }
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        if !stack.isEmpty { stack.removeLast() }
        position += 1
        guard visit(.close) else { return }
      case UInt8(ascii: ","):
        if let last = stack.indices.last {
          if stack[last].isObject { stack[last].expectingKey = true } else { stack[last].arrayIndex += 1 }
        }
        position += 1
      case UInt8(ascii: "\""):
        let (text, end) = string(in: bytes, from: position + 1)
        position = end
        if let last = stack.indices.last, stack[last].isObject, stack[last].expectingKey {
          stack[last].expectingKey = false
          stack[last].currentKey = text
          guard visit(.key(text, path: childPath())) else { return }
        }
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        let start = position
        while position < bytes.count, numberBytes.contains(bytes[position]) { position += 1 }
        guard visit(.number(String(decoding: bytes[start..<position], as: UTF8.self), path: childPath())) else { return }
      default:
        position += 1
      }
    }
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
