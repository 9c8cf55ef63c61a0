import XCTest
@testable import Storage

final class ContentHashTests: XCTestCase {
  /// FIPS 180-4 test vectors.
  func testKnownVectors() {
    XCTAssertEqual(ContentHash.sha256([UInt8]()).hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    XCTAssertEqual(ContentHash.sha256(Array("abc".utf8)).hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  }

  func testIncrementalEqualsOneShot() {
    var generator = SystemRandomNumberGenerator()
    let bytes = (0..<10_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
    var hasher = ContentHasher()
    var start = 0
    for size in [1, 7, 1000, 4096, 3] {
      hasher.update(Array(bytes[start..<(start + size)]))
      start += size
    }
    hasher.update(Array(bytes[start...]))
    XCTAssertEqual(hasher.finalize(), ContentHash.sha256(bytes))
  }

  func testHexParsingAndDigestBytes() throws {
    let hash = ContentHash.sha256(Array("abc".utf8))
    XCTAssertEqual(ContentHash(hex: hash.hex.uppercased()), hash)
    XCTAssertNil(ContentHash(hex: "xyz"))
    XCTAssertNil(ContentHash(hex: String(repeating: "g", count: 64)))
    XCTAssertEqual(hash.digestBytes.count, 32)
    XCTAssertEqual(hash.digestBytes.prefix(3), [0xba, 0x78, 0x16])
    let json = try JSONEncoder().encode([hash])
    XCTAssertEqual(String(decoding: json, as: UTF8.self), "[\"\(hash.hex)\"]")
    XCTAssertEqual(try JSONDecoder().decode([ContentHash].self, from: json), [hash])
    XCTAssertThrowsError(try JSONDecoder().decode([ContentHash].self, from: Data("[\"abc\"]".utf8)))
  }
}
