/// Finds a comma directly before a closing `}` or `]` (whitespace between), which JSON (RFC 8259)
/// does not allow but Foundation's parser on Linux accepts: a manifest that ntkbatch read would
/// then break other tools (`jq`, Python's `json`) in a pipeline, so it is refused as not JSON.
///
/// Call it on bytes a JSON parser has already accepted: one forward pass, strings skipped (with
/// their escapes), never traps.
public enum JSONTrailingComma {
  /// The byte offset of the first such comma, or `nil`.
  public static func first(in bytes: [UInt8]) -> Int? {
    var position = 0
    var lastComma: Int?  // the last significant byte outside strings, if it was a comma
    while position < bytes.count {
      let byte = bytes[position]
      switch byte {
      case UInt8(ascii: "\""):
        lastComma = nil
        position += 1
        while position < bytes.count, bytes[position] != UInt8(ascii: "\"") {
          position += bytes[position] == UInt8(ascii: "\\") ? 2 : 1
        }
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
        break
      case UInt8(ascii: ","):
        lastComma = position
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        if let lastComma { return lastComma }
      default:
        lastComma = nil
      }
      position += 1
    }
    return nil
  }
}
