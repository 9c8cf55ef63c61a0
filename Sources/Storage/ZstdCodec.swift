import Foundation
import CZstd

/// Zstandard compression of whole buffers (one zstd frame per buffer), through libzstd.
///
/// Frames written here record their content size, so `decompress` can check it; decompression is
/// bounded by the raw size the caller expects (from the journal), so a damaged or hostile frame
/// can never make it allocate more. Errors are values: `ZSTD_isError` codes become `StorageError`s
/// carrying `ZSTD_getErrorName`.
///
/// Source: RFC 8878 (Zstandard), libzstd's simple API (`ZSTD_compress`, `ZSTD_decompress`).
public struct ZstdCodec: Sendable {
  /// Compression level, 1 (fast) … 19 (small); 3 is libzstd's default.
  public var level: Int32

  /// A codec at `level`.
  public init(level: Int32 = 3) {
    self.level = level
  }

  /// Compresses `raw` into one zstd frame.
  ///
  /// - Parameter name: what the bytes are (a path or object name), used in error messages.
  /// - Throws: `StorageError` (`.ioFailure`) if libzstd reports an error.
  public func compress(_ raw: UnsafeRawBufferPointer, name: String = "zstd frame") throws -> [UInt8] {
    let bound = ZSTD_compressBound(raw.count)
    var frame = [UInt8](repeating: 0, count: bound)
    let written = frame.withUnsafeMutableBytes { out in
      ZSTD_compress(out.baseAddress, out.count, raw.baseAddress, raw.count, level)
    }
    if ZSTD_isError(written) != 0 {
      throw StorageError(.ioFailure, path: name, "zstd compression failed: \(Self.errorName(written))")
    }
    frame.removeLast(bound - written)
    return frame
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
      throw StorageError(path: name, "zstd frame of \(frame.count) bytes cannot hold the expected \(rawByteCount) raw bytes")
    }
    var raw = [UInt8](repeating: 0, count: rawByteCount)
    let produced = raw.withUnsafeMutableBytes { out in
      ZSTD_decompress(out.baseAddress, out.count, frame.baseAddress, frame.count)
    }
    if ZSTD_isError(produced) != 0 {
      throw StorageError(path: name, "zstd frame is damaged: \(Self.errorName(produced))")
    }
    guard produced == rawByteCount else {
      throw StorageError(path: name, "zstd frame decompressed to \(produced) bytes, expected \(rawByteCount)")
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
