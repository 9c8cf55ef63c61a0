import CZlib

/// gzip decompression through zlib, for the official dataset files (`*.gz`).
///
/// Source: RFC 1952 (gzip), zlib's `inflate` with `windowBits = 15 + 32` (automatic gzip/zlib
/// header detection). Concatenated gzip members are decompressed one after the other; bytes after
/// the last member must be zeros (padding, as Python's `gzip` accepts), anything else is refused.
///
/// Output is bounded: the caller says, from the bytes inflated so far, how many the reader can
/// use at most (e.g. the size an IDX header declares); inflating stops with an error one chunk
/// past that, so a small file that inflates to gigabytes (a "gzip bomb") never allocates them.
public enum Gzip {
  /// Most bytes the reader can use, given the decompressed prefix so far; `nil` while unknown.
  public typealias Limit = (_ prefix: [UInt8]) -> Int?

  /// Whether `bytes` start with the gzip magic `1f 8b`.
  public static func isGzip(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
  }

  /// Decompresses `bytes` if they carry the gzip magic; returns them unchanged otherwise.
  ///
  /// - Parameters:
  ///   - limit: the most output the reader can use (see `Limit`); `nil`: unbounded.
  /// - Throws: `StorageError` naming `path` for a corrupt or truncated gzip stream, trailing
  ///   garbage, or output beyond `limit`.
  public static func decompressIfNeeded(bytes: [UInt8], path: String = "<memory>", limit: Limit? = nil) throws -> [UInt8] {
    guard isGzip(bytes) else { return bytes }
    return try decompress(bytes, path: path, limit: limit)
  }

  /// Decompresses a gzip stream (one or more members), at most `limit` bytes (see `Limit`).
  /// Each member goes through `Zlib`'s one inflate loop.
  public static func decompress(_ bytes: [UInt8], path: String, limit: Limit? = nil) throws -> [UInt8] {
    var output: [UInt8] = []
    var offset = 0
    while offset < bytes.count, isGzip(Array(bytes[offset..<min(offset + 2, bytes.count)])) {
      // The limit is over the whole output: members after the first see what came before.
      let prior = output
      let cap: ((ArraySlice<UInt8>) -> Int?)? = limit.map { limit in
        { member in limit(prior + member).map { $0 - prior.count } }
      }
      offset += try bytes.withUnsafeBytes { raw in
        try Zlib.inflateStream(UnsafeRawBufferPointer(rebasing: raw[offset...]), framing: .gzip, sizeHint: 0,
                               into: &output, cap: cap, path: path)
      }
    }
    if offset < bytes.count, bytes[offset...].contains(where: { $0 != 0 }) {
      throw StorageError(path: path, "trailing garbage after the gzip data: \(Plural.count(bytes.count - offset, "byte")) at byte \(offset)")
    }
    return output
  }
}
