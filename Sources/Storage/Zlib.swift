import CZlib

/// Raw zlib streams (RFC 1950: 2-byte header, deflate data, Adler-32 trailer), as used by the
/// `miCOMPRESSED` data elements of MATLAB level-5 MAT-files.
///
/// Both directions go through the system zlib (`inflate` / `compress2`); nothing is hand-rolled.
public enum Zlib {
  /// Inflates one zlib stream held in `input`; bytes after the end of the stream are ignored.
  ///
  /// The output buffer starts at `sizeHint` bytes (or 2 × the input) and doubles as needed, so a
  /// large stream is inflated without per-chunk copies.
  ///
  /// - Throws: `StorageError` (`.badInput`) naming `path` for a corrupt stream, or a truncated
  ///   one (input ends before the end-of-stream marker).
  public static func inflate(_ input: UnsafeRawBufferPointer, sizeHint: Int = 0, path: String) throws -> [UInt8] {
    var stream = z_stream()
    guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw StorageError(.ioFailure, path: path, "zlib could not start inflating")
    }
    defer { inflateEnd(&stream) }
    guard let base = input.baseAddress, input.count > 0 else {
      throw StorageError(path: path, "truncated zlib data (empty stream)")
    }
    var output = [UInt8](repeating: 0, count: max(sizeHint, input.count * 2, 1 << 16))
    var produced = 0
    var remaining = input.count
    var next = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
    while true {
      if produced == output.count { output += [UInt8](repeating: 0, count: output.count) }
      // zlib counts in 32-bit `uInt`; feed at most 1 GiB per call.
      let feed = min(remaining, 1 << 30)
      let room = min(output.count - produced, 1 << 30)
      let status: Int32 = output.withUnsafeMutableBufferPointer { out in
        stream.next_in = next
        stream.avail_in = uInt(feed)
        stream.next_out = out.baseAddress! + produced
        stream.avail_out = uInt(room)
        return CZlib.inflate(&stream, Z_NO_FLUSH)
      }
      let consumed = feed - Int(stream.avail_in)
      next += consumed
      remaining -= consumed
      produced += room - Int(stream.avail_out)
      switch status {
      case Z_STREAM_END:
        output.removeSubrange(produced...)
        return output
      case Z_OK:
        continue
      case Z_BUF_ERROR where remaining == 0:
        throw StorageError(path: path, "truncated zlib data (stream ends after \(input.count) bytes without its end marker)")
      case Z_BUF_ERROR:
        continue
      default:
        let reason = stream.msg.map { String(cString: $0) } ?? "status \(status)"
        throw StorageError(path: path, "corrupt zlib data (\(reason))")
      }
    }
  }

  /// Inflates one zlib stream held in `bytes[range]`.
  public static func inflate(_ bytes: [UInt8], range: Range<Int>, sizeHint: Int = 0, path: String) throws -> [UInt8] {
    try bytes.withUnsafeBytes { raw in
      try inflate(UnsafeRawBufferPointer(rebasing: raw[range]), sizeHint: sizeHint, path: path)
    }
  }

  /// Deflates `bytes` into one zlib stream (`compress2`, `level` 0…9, clamped; −1 is zlib's
  /// default); used to write `miCOMPRESSED` elements and test inputs.
  public static func deflate(_ bytes: [UInt8], level: Int32 = Z_DEFAULT_COMPRESSION) -> [UInt8] {
    let level = max(Z_DEFAULT_COMPRESSION, min(Z_BEST_COMPRESSION, level))
    var bound = compressBound(uLong(bytes.count))
    var output = [UInt8](repeating: 0, count: Int(bound))
    let status = output.withUnsafeMutableBufferPointer { out in
      bytes.withUnsafeBufferPointer { input in
        compress2(out.baseAddress!, &bound, input.baseAddress, uLong(input.count), level)
      }
    }
    // compress2 only fails for a too-small buffer (impossible with compressBound) or bad level.
    precondition(status == Z_OK, "compress2 failed with status \(status)")
    output.removeSubrange(Int(bound)...)
    return output
  }
}
