import Foundation
import Crypto

/// The SHA-256 digest of a byte sequence, as 64 lowercase hexadecimal characters.
///
/// Objects in the run directory are named by the `ContentHash` of their *raw* (uncompressed)
/// bytes, journal records carry it, and the manifest, weights and input data are identified by it.
/// Encodes as a plain JSON string.
///
/// Source: FIPS 180-4 (SHA-256), computed by swift-crypto's `SHA256`.
public struct ContentHash: Hashable, Comparable, Codable, CustomStringConvertible, Sendable {
  /// The digest as 64 lowercase hex characters.
  public let hex: String

  /// Creates a hash from its hex form; `nil` unless `hex` is 64 hex characters (any case).
  public init?(hex: String) {
    let lower = hex.lowercased()
    guard lower.utf8.count == 64, lower.utf8.allSatisfy({ Self.isHexDigit($0) }) else { return nil }
    self.hex = lower
  }

  /// Creates a hash from the 32 digest bytes.
  init<D: Sequence>(digest: D) where D.Element == UInt8 {
    let table = Array("0123456789abcdef".utf8)
    var chars: [UInt8] = []
    chars.reserveCapacity(64)
    for byte in digest {
      chars.append(table[Int(byte >> 4)])
      chars.append(table[Int(byte & 0x0F)])
    }
    self.hex = String(decoding: chars, as: UTF8.self)
  }

  /// SHA-256 of the bytes in `buffer`, in one pass.
  public static func sha256(_ buffer: UnsafeRawBufferPointer) -> ContentHash {
    ContentHash(digest: SHA256.hash(data: buffer))
  }

  /// SHA-256 of `bytes` (an array, `Data`, or any contiguous byte collection).
  public static func sha256<Bytes: ContiguousBytes>(_ bytes: Bytes) -> ContentHash {
    bytes.withUnsafeBytes { sha256($0) }
  }

  /// The 32 digest bytes (big-endian order of the hex string).
  public var digestBytes: [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(32)
    var high: UInt8 = 0
    for (i, c) in hex.utf8.enumerated() {
      let v = Self.hexValue(c)
      if i % 2 == 0 { high = v } else { out.append(high << 4 | v) }
    }
    return out
  }

  public var description: String { hex }

  public static func < (lhs: ContentHash, rhs: ContentHash) -> Bool { lhs.hex < rhs.hex }

  public init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    let text = try container.decode(String.self)
    guard let hash = ContentHash(hex: text) else {
      throw DecodingError.dataCorruptedError(
        in: container, debugDescription: "expected 64 hex characters of a SHA-256, found \"\(text.prefix(80))\"")
    }
    self = hash
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(hex)
  }

  private static func isHexDigit(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)
  }

  private static func hexValue(_ c: UInt8) -> UInt8 {
    c <= 0x39 ? c - 0x30 : c - 0x61 + 10
  }
}

/// Incremental SHA-256: feed bytes in pieces (e.g. a dataset file chunk by chunk), then finalize.
///
/// `ContentHasher` over the concatenation of the pieces equals `ContentHash.sha256` of the whole.
public struct ContentHasher {
  private var state = SHA256()

  /// A hasher that has seen no bytes yet.
  public init() {}

  /// Feeds the bytes in `buffer`.
  public mutating func update(_ buffer: UnsafeRawBufferPointer) {
    state.update(bufferPointer: buffer)
  }

  /// Feeds `bytes` (an array, `Data`, or any contiguous byte collection).
  public mutating func update<Bytes: ContiguousBytes>(_ bytes: Bytes) {
    bytes.withUnsafeBytes { state.update(bufferPointer: $0) }
  }

  /// The digest of everything fed so far. The hasher can be finalized once.
  public func finalize() -> ContentHash {
    ContentHash(digest: state.finalize())
  }
}
