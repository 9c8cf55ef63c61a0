import Foundation
import Storage
import XCTest

/// gzip members built from zlib's deflate (RFC 1952 framing written here), for bounded inflating.
enum GzipFixture {
  /// CRC-32 (IEEE 802.3, reflected 0xEDB88320) of `bytes`, as the gzip trailer holds it.
  static func crc32(_ bytes: [UInt8]) -> UInt32 {
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
  static func member(_ raw: [UInt8]) -> [UInt8] {
    let zlib = Zlib.deflate(raw, level: 9)
    let deflate = Array(zlib[2..<(zlib.count - 4)])
    func le(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * $0) & 0xFF) } }
    return [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF] + deflate + le(crc32(raw)) + le(UInt32(truncatingIfNeeded: raw.count))
  }

  /// An IDX image header declaring `count` images of 28 × 28, followed by `dataBytes` zeros.
  static func idxImages(count: Int, dataBytes: Int) -> [UInt8] {
    func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
    return [0, 0, 8, 3] + be(count) + be(28) + be(28) + [UInt8](repeating: 0, count: dataBytes)
  }
}

final class GzipLimitTests: XCTestCase {
  func testInflatingStopsOnePastTheDeclaredSize() throws {
    // Declares 100 images (78,416 bytes with the header) but inflates to 16 MiB: a gzip bomb.
    let bomb = GzipFixture.member(GzipFixture.idxImages(count: 100, dataBytes: 16 << 20))
    XCTAssertLessThan(bomb.count, 40_000)
    XCTAssertThrowsError(try Gzip.decompress(bomb, path: "/d/train-images-idx3-ubyte.gz", limit: { $0.count >= 16 ? 16 + 100 * 784 : nil })) { error in
      let text = "\(error)"
      XCTAssertTrue(text.contains("/d/train-images-idx3-ubyte.gz"), text)
      XCTAssertTrue(text.contains("inflates past 78416 bytes"), text)
    }
    // The same stream holding exactly the declared size is read.
    let exact = GzipFixture.idxImages(count: 100, dataBytes: 100 * 784)
    XCTAssertEqual(try Gzip.decompress(GzipFixture.member(exact), path: "x.gz", limit: { $0.count >= 16 ? 16 + 100 * 784 : nil }), exact)
  }

  func testTrailingGarbageIsRefusedAndZeroPaddingAccepted() throws {
    let raw = [UInt8](repeating: 7, count: 1000)
    let member = GzipFixture.member(raw)
    XCTAssertEqual(try Gzip.decompress(member + member, path: "two.gz"), raw + raw)
    XCTAssertEqual(try Gzip.decompress(member + [0, 0, 0, 0], path: "padded.gz"), raw)
    XCTAssertThrowsError(try Gzip.decompress(member + Array("junk".utf8), path: "junk.gz")) { error in
      XCTAssertTrue("\(error)".contains("junk.gz: trailing garbage after the gzip data: 4 bytes at byte \(member.count)"), "\(error)")
    }
  }
}
