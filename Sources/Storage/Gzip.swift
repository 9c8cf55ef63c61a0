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
  public static func decompress(_ bytes: [UInt8], path: String, limit: Limit? = nil) throws -> [UInt8] {
    var output: [UInt8] = []
    var cap: Int? = nil
    var offset = 0
    while offset < bytes.count, isGzip(Array(bytes[offset..<min(offset + 2, bytes.count)])) {
      offset += try inflateMember(bytes, from: offset, into: &output, cap: &cap, limit: limit, path: path)
    }
    if offset < bytes.count, bytes[offset...].contains(where: { $0 != 0 }) {
      throw StorageError(path: path, "trailing garbage after the gzip data: \(bytes.count - offset) bytes at byte \(offset)")
    }
    return output
  }

  /// Inflates one member starting at `start`; returns how many input bytes it consumed.
  private static func inflateMember(
    _ bytes: [UInt8], from start: Int, into output: inout [UInt8], cap: inout Int?, limit: Limit?, path: String
  ) throws -> Int {
    var stream = z_stream()
    guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw StorageError(.ioFailure, path: path, "zlib could not start inflating")
    }
    defer { inflateEnd(&stream) }
    let chunkSize = 1 << 20
    var chunk = [UInt8](repeating: 0, count: chunkSize)
    return try bytes.withUnsafeBufferPointer { input in
      stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + start)
      stream.avail_in = uInt(input.count - start)
      while true {
        // Never produce more than one byte past a known cap: enough to tell that the stream lies.
        let room = cap.map { max(1, min(chunkSize, $0 - output.count + 1)) } ?? chunkSize
        let status: Int32 = chunk.withUnsafeMutableBufferPointer { out in
          stream.next_out = out.baseAddress
          stream.avail_out = uInt(room)
          return inflate(&stream, Z_NO_FLUSH)
        }
        output += chunk[0..<(room - Int(stream.avail_out))]
        if cap == nil, let limit { cap = limit(output) }
        if let cap, output.count > cap {
          throw StorageError(path: path, "gzip data inflates past \(cap) bytes, more than the file may hold by its header or kind (damaged or hostile file)")
        }
        if status == Z_STREAM_END { return input.count - start - Int(stream.avail_in) }
        guard status == Z_OK else {
          let reason = status == Z_BUF_ERROR ? "truncated gzip data" : "corrupt gzip data (zlib status \(status))"
          throw StorageError(path: path, reason)
        }
      }
    }
  }
}
