import Foundation
import CZstd

/// Zstandard compression of whole buffers (one zstd frame per buffer), through libzstd.
///
/// Frames written here record their content size, so `decompress` can check it; decompression is
/// bounded by the raw size the caller expects (from the journal), so a damaged or hostile frame
/// can never make it allocate more. Errors are values: `ZSTD_isError` codes become `StorageError`s
/// carrying `ZSTD_getErrorName`.
///
/// Source: RFC 8878 (Zstandard), libzstd's advanced API (`ZSTD_compress2`, `ZSTD_compressStream2`,
/// `ZSTD_c_nbWorkers`) and
/// simple API (`ZSTD_decompress`).
public struct ZstdCodec: Sendable {
  /// Compression level, 1 (fast) … 19 (small); 3 is libzstd's default.
  public var level: Int32
  /// Threads libzstd compresses a large buffer with (`ZSTD_c_nbWorkers`); 0: the calling thread
  /// only (also when libzstd was built without threads). Used for buffers of at least
  /// `parallelByteCount` bytes. The frame does not depend on
  /// the number of workers once it is at least 1 (libzstd cuts the input into jobs by size, not by
  /// thread), and it decodes to the same bytes whatever the setting.
  public var workers: Int32

  /// Buffers smaller than this are compressed on the calling thread (starting workers costs more).
  public static let parallelByteCount = 1 << 22

  /// A codec at `level`, with `workers` compression threads for large buffers.
  public init(level: Int32 = 3, workers: Int32 = 0) {
    self.level = level
    self.workers = workers
  }

  /// Compresses `raw` into one zstd frame (content size recorded).
  ///
  /// - Parameter name: what the bytes are (a path or object name), used in error messages.
  /// - Throws: `StorageError` (`.ioFailure`) if libzstd reports an error.
  public func compress(_ raw: UnsafeRawBufferPointer, name: String = "zstd frame") throws -> [UInt8] {
    let bound = ZSTD_compressBound(raw.count)
    let context = try makeContext(name: name)
    defer { ZSTD_freeCCtx(context) }
    if raw.count >= Self.parallelByteCount && workers > 0 {
      // A libzstd built without threads refuses workers: it then compresses on this thread.
      _ = ZSTD_CCtx_setParameter(context, ZSTD_c_nbWorkers, workers)
    }
    // Written by libzstd before it is read: no zero fill of a buffer as large as the input.
    var written = 0
    let frame = [UInt8](unsafeUninitializedCapacity: bound) { out, count in
      written = ZSTD_compress2(context, out.baseAddress, bound, raw.baseAddress, raw.count)
      count = ZSTD_isError(written) != 0 ? 0 : written
    }
    if ZSTD_isError(written) != 0 {
      throw StorageError(.ioFailure, path: name, "zstd compression failed: \(Self.errorName(written))")
    }
    return frame
  }

  /// Bytes of frame handed to `compress(_:name:chunkBytes:to:)`'s consumer at a time (at most).
  public static let streamChunkBytes = 8 << 20

  /// Compresses `raw` into one zstd frame, handing it to `consume` in consecutive pieces of at most
  /// `chunkBytes` bytes as libzstd produces them; the pieces concatenated are byte for byte
  /// `compress(raw)`'s frame. For buffers of at least `parallelByteCount` bytes with `workers` ≥ 1
  /// the frame is never held whole: the workers go on compressing while `consume` runs (e.g.
  /// writes the piece to a file), and memory stays at libzstd's job buffers plus one piece.
  /// Smaller buffers are compressed as by `compress(raw)` and handed over in pieces.
  ///
  /// - Returns: the frame's size in bytes.
  /// - Throws: `StorageError` (`.ioFailure`) if libzstd reports an error; `consume`'s errors
  ///   unchanged (compression stops there).
  @discardableResult
  public func compress(_ raw: UnsafeRawBufferPointer, name: String = "zstd frame", chunkBytes: Int = Self.streamChunkBytes,
                       to consume: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
    precondition(chunkBytes >= 1, "chunkBytes must be positive")
    func handOutWhole() throws -> Int {
      let frame = try compress(raw, name: name)
      try frame.withUnsafeBytes { bytes in
        var offset = 0
        while offset < bytes.count {
          let end = min(bytes.count, offset + chunkBytes)
          try consume(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
          offset = end
        }
      }
      return frame.count
    }
    guard raw.count >= Self.parallelByteCount && workers > 0 else { return try handOutWhole() }
    let context = try makeContext(name: name)
    defer { ZSTD_freeCCtx(context) }
    // A libzstd built without threads refuses workers: then the frame is compress(raw)'s, whole.
    if ZSTD_isError(ZSTD_CCtx_setParameter(context, ZSTD_c_nbWorkers, workers)) != 0 { return try handOutWhole() }
    // Aligned for O_DIRECT writes of whole pieces (`DirectFileWriter`).
    let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: SystemFile.directAlignment)
    defer { piece.deallocate() }
    // The whole input with ZSTD_e_end from the first call, as ZSTD_compress2 does: the frame
    // records the content size and libzstd cuts the same jobs; a bounded output only changes
    // when the frame's bytes are handed out.
    var input = ZSTD_inBuffer(src: raw.baseAddress, size: raw.count, pos: 0)
    var total = 0
    while true {
      var output = ZSTD_outBuffer(dst: piece.baseAddress, size: chunkBytes, pos: 0)
      let remaining = ZSTD_compressStream2(context, &output, &input, ZSTD_e_end)
      if ZSTD_isError(remaining) != 0 {
        throw StorageError(.ioFailure, path: name, "zstd compression failed: \(Self.errorName(remaining))")
      }
      if output.pos > 0 {
        try consume(UnsafeRawBufferPointer(rebasing: piece[0..<output.pos]))
        total += output.pos
      }
      if remaining == 0 { return total }
    }
  }

  /// A compression context at `level`.
  private func makeContext(name: String) throws -> OpaquePointer {
    guard let context = ZSTD_createCCtx() else {
      throw StorageError(.ioFailure, path: name, "zstd compression failed: no memory for a compression context")
    }
    let code = ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
    if ZSTD_isError(code) != 0 {
      ZSTD_freeCCtx(context)
      throw StorageError(.ioFailure, path: name, "zstd compression failed: \(Self.errorName(code))")
    }
    return context
  }

  /// Compresses `raw` (an array or any contiguous byte collection) into one zstd frame.
  public func compress<Bytes: ContiguousBytes>(_ raw: Bytes, name: String = "zstd frame") throws -> [UInt8] {
    try raw.withUnsafeBytes { try compress($0, name: name) }
  }

  /// Decompresses one zstd frame that must hold exactly `rawByteCount` bytes.
  ///
  /// - Parameters:
  ///   - frame: the compressed bytes.
  ///   - rawByteCount: the expected decompressed size in bytes; nothing larger is ever allocated.
  ///   - name: what the frame is (a path or object name), used in error messages.
  /// - Throws: `StorageError` (`.badInput`) if the frame is damaged, declares another size, or
  ///   decompresses to another size.
  public func decompress(_ frame: UnsafeRawBufferPointer, rawByteCount: Int, name: String = "zstd frame") throws -> [UInt8] {
    guard rawByteCount >= 0 else { throw StorageError(path: name, "raw size: expected ≥ 0, found \(rawByteCount)") }
    let declared = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
    // ZSTD_CONTENTSIZE_ERROR = 0ULL - 2, ZSTD_CONTENTSIZE_UNKNOWN = 0ULL - 1 (macros not imported).
    if declared == UInt64.max - 1 {
      throw StorageError(path: name, "not a zstd frame (bad magic or truncated header)")
    }
    if declared != UInt64.max && declared != UInt64(rawByteCount) {
      throw StorageError(path: name, "zstd frame declares \(declared) raw bytes, expected \(rawByteCount)")
    }
    // A frame that does not declare its size cannot expand more than ~32,768× (an RLE block: 4
    // bytes for 128 KiB); refuse an expected size beyond that before allocating it.
    if declared == UInt64.max, rawByteCount / (1 << 15) > frame.count + (1 << 2) {
      throw StorageError(path: name, "zstd frame of \(Plural.count(frame.count, "byte")) cannot hold the expected \(rawByteCount) raw bytes")
    }
    var raw = [UInt8](repeating: 0, count: rawByteCount)
    let produced = raw.withUnsafeMutableBytes { out in
      ZSTD_decompress(out.baseAddress, out.count, frame.baseAddress, frame.count)
    }
    if ZSTD_isError(produced) != 0 {
      throw StorageError(path: name, "zstd frame is damaged: \(Self.errorName(produced))")
    }
    guard produced == rawByteCount else {
      throw StorageError(path: name, "zstd frame decompressed to \(Plural.count(produced, "byte")), expected \(rawByteCount)")
    }
    return raw
  }

  /// Decompresses one zstd frame (an array or any contiguous byte collection) of `rawByteCount` bytes.
  public func decompress<Bytes: ContiguousBytes>(_ frame: Bytes, rawByteCount: Int, name: String = "zstd frame") throws -> [UInt8] {
    try frame.withUnsafeBytes { try decompress($0, rawByteCount: rawByteCount, name: name) }
  }

  /// The raw size a frame declares in its header, or `nil` if it is not a frame or does not say.
  public func declaredRawByteCount(_ frame: UnsafeRawBufferPointer) -> Int? {
    let declared = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
    guard declared < UInt64.max - 1, declared <= UInt64(Int.max) else { return nil }
    return Int(declared)
  }

  private static func errorName(_ code: Int) -> String {
    guard let name = ZSTD_getErrorName(code) else { return "error \(code)" }
    return String(cString: name)
  }
}
