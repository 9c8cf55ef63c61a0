import Storage

/// gzip members built from zlib's deflate (RFC 1952 framing written here), for bounded inflating.
public enum GzipFixture {
  /// CRC-32 (IEEE 802.3, reflected 0xEDB88320) of `bytes`, as the gzip trailer holds it.
  public static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var table = [UInt32](repeating: 0, count: 256)
    for n in 0..<256 {
      var c = UInt32(n)
      for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
      table[n] = c
    }
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
  }

  /// One gzip member holding `raw`.
  public static func member(_ raw: [UInt8]) -> [UInt8] {
    let zlib = Zlib.deflate(raw, level: 9)
    let deflate = Array(zlib[2..<(zlib.count - 4)])
    func le(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * $0) & 0xFF) } }
    return [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF] + deflate + le(crc32(raw)) + le(UInt32(truncatingIfNeeded: raw.count))
  }

  /// An IDX image header declaring `count` images of 28 × 28, followed by `dataBytes` zeros.
  public static func idxImages(count: Int, dataBytes: Int) -> [UInt8] {
    func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
    return [0, 0, 8, 3] + be(count) + be(28) + be(28) + [UInt8](repeating: 0, count: dataBytes)
  }
}
