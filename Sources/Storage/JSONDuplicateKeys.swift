/// Finds a key that occurs twice in the same JSON object.
///
/// RFC 8259 §4 says object names "SHOULD be unique" and leaves duplicates' meaning to the reader;
/// Foundation's `JSONSerialization` and `JSONDecoder` silently keep the last value. For a manifest
/// or a `.safetensors` header that is ambiguous input (two readers may take different values), so
/// ntkbatch refuses it, as the safetensors reference loader does.
///
/// Call it on bytes a JSON parser has already accepted: one forward pass (`JSONPathScan`),
/// comparing keys after decoding escapes (`"a"` and `"\u0061"` are the same key). On input that
/// is not JSON it never traps; it may then return `nil` or an arbitrary key.
public enum JSONDuplicateKeys {
  /// A repeated key.
  public struct Duplicate: Equatable, Sendable {
    /// The key, decoded.
    public var key: String
    /// Where it is: the enclosing keys and array positions joined with dots, ending in the key
    /// (e.g. `dataset.name`, `model.train.lr`, `linear.bias`, `items.[2].x`).
    public var path: String
  }

  /// The first key found twice in one object (in document order of the second occurrence), or `nil`.
  public static func first(in bytes: [UInt8]) -> Duplicate? {
    var keys: [Set<String>] = []  // per open object or array (arrays hold none)
    var duplicate: Duplicate?
    JSONPathScan.scan(bytes) { event in
      switch event {
      case .open: keys.append([])
      case .close: if !keys.isEmpty { keys.removeLast() }
      case let .key(key, path):
        guard !keys.isEmpty else { return true }
        if keys[keys.count - 1].contains(key) {
          duplicate = Duplicate(key: key, path: path)
          return false
        }
        keys[keys.count - 1].insert(key)
      case .number: break
      }
      return true
    }
    return duplicate
  }
}
