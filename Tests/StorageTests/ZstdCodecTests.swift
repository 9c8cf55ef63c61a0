import XCTest
@testable import Storage

final class ZstdCodecTests: XCTestCase {
  func testRoundTripCompressesRedundantData() throws {
    let raw = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
    let codec = ZstdCodec()
    let frame = try codec.compress(raw)
    XCTAssertLessThan(frame.count, raw.count / 10)
    XCTAssertEqual(frame.withUnsafeBytes { codec.declaredRawByteCount($0) }, raw.count)
    XCTAssertEqual(try codec.decompress(frame, rawByteCount: raw.count), raw)
  }

  func testEmptyInput() throws {
    let codec = ZstdCodec()
    let frame = try codec.compress([UInt8]())
    XCTAssertEqual(try codec.decompress(frame, rawByteCount: 0), [])
  }

  func testWrongExpectedSizeIsAnError() throws {
    let codec = ZstdCodec()
    let frame = try codec.compress([UInt8](repeating: 7, count: 1000))
    XCTAssertThrowsError(try codec.decompress(frame, rawByteCount: 999, name: "obj")) { error in
      XCTAssertTrue("\(error)".contains("declares 1000 raw bytes, expected 999"), "\(error)")
    }
  }

  func testDamagedFrameIsAnErrorNotACrash() throws {
    let codec = ZstdCodec()
    let raw = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 7) }
    let frame = try codec.compress(raw)
    XCTAssertThrowsError(try codec.decompress([UInt8](repeating: 0, count: 20), rawByteCount: 10)) { error in
      XCTAssertTrue("\(error)".contains("not a zstd frame"), "\(error)")
    }
    XCTAssertThrowsError(try codec.decompress(Array(frame.prefix(frame.count / 2)), rawByteCount: raw.count))
    // Every single-byte flip after the header is either detected or (if in padding) harmless.
    for offset in stride(from: 6, to: frame.count, by: 5) {
      var damaged = frame
      damaged[offset] ^= 0x5A
      if let out = try? codec.decompress(damaged, rawByteCount: raw.count) {
        XCTAssertEqual(out.count, raw.count)
      }
    }
  }
}
