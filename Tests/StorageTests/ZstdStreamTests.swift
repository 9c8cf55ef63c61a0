import XCTest
@testable import Storage

/// `ZstdCodec.compress(_:name:chunkBytes:to:)` hands out, piece by piece, exactly the frame
/// `compress(_:)` returns whole (objects are named by their raw bytes and must keep their bytes).
final class ZstdStreamTests: XCTestCase {
  /// Float32 values of one sign and similar exponents, like a tile (compressible to ~90 %).
  static func tileLike(byteCount: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    var bytes = [UInt8](repeating: 0, count: byteCount)
    bytes.withUnsafeMutableBytes { out in
      var offset = 0
      while offset < byteCount {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        var value = (0.01 + Float(state >> 40) / Float(1 << 24)).bitPattern.littleEndian
        withUnsafeBytes(of: &value) { word in
          for k in 0..<min(4, byteCount - offset) { out[offset + k] = word[k] }
        }
        offset += 4
      }
    }
    return bytes
  }

  private func streamed(_ codec: ZstdCodec, _ raw: [UInt8], chunkBytes: Int) throws -> (frame: [UInt8], pieces: [Int], returned: Int) {
    var frame: [UInt8] = []
    var pieces: [Int] = []
    let returned = try raw.withUnsafeBytes { bytes in
      try codec.compress(bytes, chunkBytes: chunkBytes) { piece in
        pieces.append(piece.count)
        frame.append(contentsOf: piece)
      }
    }
    return (frame, pieces, returned)
  }

  /// Sizes below, at and above `parallelByteCount` (where the workers start), with 0, 1 and 2
  /// workers and pieces of 1,000 bytes, 64 KiB, exactly the frame's size, one byte less, and the
  /// default: the pieces concatenate to `compress(raw)`'s frame, none is empty or over the limit.
  func testStreamedFrameEqualsTheWholeFrameAroundTheThresholdAndPieceBoundaries() throws {
    let threshold = ZstdCodec.parallelByteCount
    for size in [0, 1, 4_093, threshold - 1, threshold, threshold + 1, 2 * threshold + 12_345] {
      let raw = Self.tileLike(byteCount: size, seed: UInt64(size) &+ 7)
      for workers: Int32 in [0, 1, 2] {
        let codec = ZstdCodec(workers: workers)
        let whole = try codec.compress(raw)
        XCTAssertEqual(try codec.decompress(whole, rawByteCount: size), raw)
        var chunkSizes = [1_000, 1 << 16, whole.count, ZstdCodec.streamChunkBytes]
        if whole.count > 1 { chunkSizes.append(whole.count - 1) }
        for chunkBytes in chunkSizes {
          let (frame, pieces, returned) = try streamed(codec, raw, chunkBytes: chunkBytes)
          let label = "size \(size), workers \(workers), pieces of \(chunkBytes)"
          XCTAssertEqual(returned, whole.count, label)
          XCTAssertTrue(frame == whole, "\(label): streamed frame of \(frame.count) bytes differs from the whole frame of \(whole.count)")
          XCTAssertTrue(pieces.allSatisfy { $0 >= 1 && $0 <= chunkBytes }, "\(label): \(pieces.prefix(20))")
        }
      }
    }
  }

  /// Large buffers are handed out while compressing: more than one piece for a frame larger than
  /// a piece, the same frame for 1 and 2 workers.
  func testLargeBuffersAreHandedOutInSeveralPiecesWithTheSameFrameForAnyWorkerCount() throws {
    let raw = Self.tileLike(byteCount: 20 << 20, seed: 11)
    let one = try streamed(ZstdCodec(workers: 1), raw, chunkBytes: 1 << 20)
    let two = try streamed(ZstdCodec(workers: 2), raw, chunkBytes: 1 << 20)
    XCTAssertTrue(one.frame == two.frame, "the frame depends on the number of workers")
    XCTAssertGreaterThan(two.pieces.count, 10)
    XCTAssertEqual(two.pieces.reduce(0, +), two.returned)
    XCTAssertLessThan(two.returned, raw.count)
    XCTAssertEqual(try ZstdCodec().decompress(two.frame, rawByteCount: raw.count), raw)
  }

  /// An error of the consumer (e.g. ENOSPC writing a piece) stops compression and comes back unchanged.
  func testAConsumerErrorStopsCompressionAndIsRethrown() throws {
    struct Full: Error, Equatable {}
    let raw = Self.tileLike(byteCount: 3 * ZstdCodec.parallelByteCount, seed: 5)
    for workers: Int32 in [0, 2] {
      var calls = 0
      XCTAssertThrowsError(try raw.withUnsafeBytes { bytes in
        try ZstdCodec(workers: workers).compress(bytes, chunkBytes: 1 << 16) { _ in
          calls += 1
          if calls == 3 { throw Full() }
        }
      }) { error in
        XCTAssertEqual(error as? Full, Full(), "workers \(workers)")
      }
      XCTAssertEqual(calls, 3, "workers \(workers): compression went on after the error")
    }
  }
}
