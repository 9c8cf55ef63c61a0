import CZlib

/// Deflate streams through the system zlib (`inflate` / `compress2`); nothing is hand-rolled.
///
/// Two framings share one inflate loop (`inflateStream`): raw zlib streams (RFC 1950: 2-byte
/// header, deflate data, Adler-32 trailer), as used by the `miCOMPRESSED` data elements of MATLAB
/// level-5 MAT-files, and gzip members (RFC 1952), which `Gzip` strings together.
public enum Zlib {
  /// How a deflate stream is framed; names the stream in error messages.
  enum Framing {
    /// RFC 1950 (`windowBits = 15`).
    case zlib
    /// RFC 1952, with zlib's automatic gzip/zlib header detection (`windowBits = 15 + 32`).
    case gzip

    var windowBits: Int32 { self == .zlib ? 15 : 15 + 32 }
    var name: String { self == .zlib ? "zlib" : "gzip" }
  }

  /// Inflates one zlib stream held in `input`; bytes after the end of the stream are ignored.
  ///
  /// The output buffer starts at `sizeHint` bytes (or 2 × the input) and doubles as needed, so a
  /// large stream is inflated without per-chunk copies.
  ///
  /// - Throws: `StorageError` (`.badInput`) naming `path` for a corrupt stream, or a truncated
  ///   one (input ends before the end-of-stream marker).
  public static func inflate(_ input: UnsafeRawBufferPointer, sizeHint: Int = 0, path: String) throws -> [UInt8] {
    var output: [UInt8] = []
    _ = try inflateStream(input, framing: .zlib, sizeHint: sizeHint, into: &output, cap: nil, path: path)
    return output
  }

  /// Inflates one zlib stream held in `bytes[range]`.
  public static func inflate(_ bytes: [UInt8], range: Range<Int>, sizeHint: Int = 0, path: String) throws -> [UInt8] {
    try bytes.withUnsafeBytes { raw in
      try inflate(UnsafeRawBufferPointer(rebasing: raw[range]), sizeHint: sizeHint, path: path)
    }
  }

  /// The one inflate loop: inflates the stream at the start of `input` and appends its bytes to
  /// `output`; returns how many input bytes the stream took (bytes after it are not read).
  ///
  /// The output grows by doubling from `sizeHint` (or 2 × the input). `cap`, given the output so
  /// far, says how many bytes it may hold at most (`nil` while unknown); zlib is never asked for
  /// more than one byte past a known cap (enough to tell that the stream lies), so a small stream
  /// that inflates to gigabytes (a "gzip bomb") never allocates them.
  ///
  /// - Throws: `StorageError` (`.badInput`) naming `path`: truncated or corrupt data, output
  ///   beyond the cap; `.ioFailure` if zlib cannot start.
  static func inflateStream(
    _ input: UnsafeRawBufferPointer, framing: Framing, sizeHint: Int, into output: inout [UInt8],
    cap capOf: ((_ output: ArraySlice<UInt8>) -> Int?)?, path: String
  ) throws -> Int {
    var stream = z_stream()
    guard inflateInit2_(&stream, framing.windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw StorageError(.ioFailure, path: path, "zlib could not start inflating")
    }
    defer { inflateEnd(&stream) }
    guard let base = input.baseAddress, input.count > 0 else {
      throw StorageError(path: path, "truncated \(framing.name) data (empty stream)")
    }
    let start = output.count
    var cap: Int? = nil
    output += [UInt8](repeating: 0, count: max(sizeHint, input.count * 2, 1 << 16))
    var produced = start
    var remaining = input.count
    var next = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
    defer { output.removeSubrange(produced...) }
    while true {
      if produced == output.count { output += [UInt8](repeating: 0, count: output.count - start) }
      // zlib counts in 32-bit `uInt`: feed and produce at most 1 GiB per call, and never more
      // than one byte past a known cap.
      let feed = min(remaining, 1 << 30)
      var room = min(output.count - produced, 1 << 30)
      if let cap { room = max(1, min(room, cap + 1 - (produced - start))) }
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
      if cap == nil, let capOf { cap = capOf(output[start..<produced]) }
      if let cap, produced - start > cap {
        throw StorageError(path: path, "\(framing.name) data inflates past \(Plural.count(cap, "byte")), more than the file may hold by its header or kind (damaged or hostile file)")
      }
      switch status {
      case Z_STREAM_END:
        return input.count - remaining
      case Z_OK:
        continue
      case Z_BUF_ERROR where remaining == 0:
        throw StorageError(path: path, framing == .zlib
          ? "truncated zlib data (stream ends after \(Plural.count(input.count, "byte")) without its end marker)"
          : "truncated gzip data")
      case Z_BUF_ERROR:
        continue
      default:
        let reason = stream.msg.map { String(cString: $0) } ?? "status \(status)"
        throw StorageError(path: path, "corrupt \(framing.name) data (\(reason))")
      }
    }
  }
}
