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

  /// Large buffers go through libzstd's worker threads: the frame records its content size,
  /// decodes to the input, and is the same for 1 and 2 workers (jobs are cut by size, not thread).
  func testWorkersCompressLargeBuffersToTheSameDecodableFrame() throws {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    // Float32 values of one sign and similar exponents, like a tile: 6 MiB, above parallelByteCount.
    let floats = (0..<(6 << 18)).map { _ -> Float in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return 0.01 + Float(state >> 40) / Float(1 << 24)
    }
    let raw = floats.withUnsafeBytes { Array($0) }
    XCTAssertGreaterThanOrEqual(raw.count, ZstdCodec.parallelByteCount)
    let single = try ZstdCodec().compress(raw)
    let one = try ZstdCodec(workers: 1).compress(raw)
    let two = try ZstdCodec(workers: 2).compress(raw)
    XCTAssertEqual(one, two, "the frame depends on the number of workers")
    for frame in [single, one, two] {
      XCTAssertLessThan(frame.count, raw.count)
      XCTAssertEqual(frame.withUnsafeBytes { ZstdCodec().declaredRawByteCount($0) }, raw.count)
      XCTAssertEqual(try ZstdCodec().decompress(frame, rawByteCount: raw.count), raw)
    }
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
