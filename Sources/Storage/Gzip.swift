import CZlib

/// gzip decompression through zlib, for the official dataset files (`*.gz`).
///
/// Source: RFC 1952 (gzip), zlib's `inflate` with `windowBits = 15 + 32` (automatic gzip/zlib
/// header detection). Concatenated gzip members are decompressed one after the other.
public enum Gzip {
  /// Whether `bytes` start with the gzip magic `1f 8b`.
  public static func isGzip(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
  }

  /// Decompresses `bytes` if they carry the gzip magic; returns them unchanged otherwise.
  ///
  /// - Throws: `StorageError` naming `path` for a corrupt or truncated gzip stream.
  public static func decompressIfNeeded(bytes: [UInt8], path: String = "<memory>") throws -> [UInt8] {
    guard isGzip(bytes) else { return bytes }
    return try decompress(bytes, path: path)
  }

  /// Decompresses a gzip stream (one or more members).
  public static func decompress(_ bytes: [UInt8], path: String) throws -> [UInt8] {
    var output: [UInt8] = []
    var offset = 0
    while offset < bytes.count, isGzip(Array(bytes[offset..<min(offset + 2, bytes.count)])) {
      offset += try inflateMember(bytes, from: offset, into: &output, path: path)
    }
    return output
  }

  /// Inflates one member starting at `start`; returns how many input bytes it consumed.
  private static func inflateMember(_ bytes: [UInt8], from start: Int, into output: inout [UInt8], path: String) throws -> Int {
    var stream = z_stream()
    guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw StorageError(.ioFailure, path: path, "zlib could not start inflating")
    }
    defer { inflateEnd(&stream) }
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    return try bytes.withUnsafeBufferPointer { input in
      stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + start)
      stream.avail_in = uInt(input.count - start)
      while true {
        let status: Int32 = chunk.withUnsafeMutableBufferPointer { out in
          stream.next_out = out.baseAddress
          stream.avail_out = uInt(out.count)
          return inflate(&stream, Z_NO_FLUSH)
        }
        output += chunk[0..<(chunk.count - Int(stream.avail_out))]
        if status == Z_STREAM_END { return input.count - start - Int(stream.avail_in) }
        guard status == Z_OK else {
          let reason = status == Z_BUF_ERROR ? "truncated gzip data" : "corrupt gzip data (zlib status \(status))"
          throw StorageError(path: path, reason)
        }
      }
    }
  }
}
