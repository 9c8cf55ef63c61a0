import XCTest
@testable import Storage
import TestSupport

/// `ObjectStore.put` streams the frame into a temporary file and hashes the raw bytes while that
/// file is synced: the object must have the name and the bytes of hashing first and compressing
/// whole, and a failure part way must leave neither an object nor a temporary file.
final class ObjectStorePutTests: XCTestCase {
  /// Sizes around `parallelByteCount` and around the pieces the frame is written in, with 0 and 2
  /// workers: name = SHA-256 of the raw bytes, file = `compress(raw)`'s frame byte for byte.
  func testPutGivesTheNameAndTheBytesOfHashingAndCompressingWhole() throws {
    let dir = try TemporaryDirectory("objects-put")
    defer { dir.remove() }
    let threshold = ZstdCodec.parallelByteCount
    for workers: Int32 in [0, 2] {
      let codec = ZstdCodec(workers: workers)
      let store = ObjectStore(root: dir.path + "/objects-\(workers)", codec: codec)
      for size in [0, 1, threshold - 1, threshold, threshold + 1, ZstdCodec.streamChunkBytes * 2 + 3] {
        let raw = ZstdStreamTests.tileLike(byteCount: size, seed: UInt64(size) &* 3 &+ UInt64(workers))
        let stored = try store.put(raw)
        let label = "size \(size), workers \(workers)"
        XCTAssertEqual(stored.hash, ContentHash.sha256(raw), label)
        XCTAssertEqual(stored.rawByteCount, size, label)
        let file = try readBytes(store.path(for: stored.hash))
        XCTAssertTrue(file == (try codec.compress(raw)), "\(label): the object's bytes are not the whole frame")
        XCTAssertEqual(stored.storedByteCount, file.count, label)
        XCTAssertTrue((try store.read(stored.hash, rawByteCount: size)) == raw, label)
      }
      XCTAssertEqual(try store.temporaryFiles(), [], "workers \(workers)")
      XCTAssertEqual(try store.strayFiles(), [], "workers \(workers)")
      XCTAssertEqual(try store.list().count, 6, "workers \(workers)")
    }
  }

  /// A put of bytes already stored intact keeps the existing file (same inode) and leaves no
  /// temporary file; a damaged one is replaced by the right bytes.
  func testPutOfAPresentObjectKeepsItAndReplacesADamagedOne() throws {
    let dir = try TemporaryDirectory("objects-put")
    defer { dir.remove() }
    let codec = ZstdCodec(workers: 2)
    let store = ObjectStore(root: dir.path + "/objects", codec: codec)
    let raw = ZstdStreamTests.tileLike(byteCount: ZstdCodec.parallelByteCount + 5, seed: 1)
    let first = try store.put(raw)
    let path = store.path(for: first.hash)
    let inode = (try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber)?.intValue
    XCTAssertEqual(try store.put(raw), first)
    XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber)?.intValue, inode)
    var damaged = try readBytes(path)
    damaged[damaged.count / 2] ^= 0x10
    try writeBytes(damaged, path)
    guard case .damaged = store.condition(of: first.hash, rawByteCount: raw.count) else { return XCTFail("flip not seen") }
    XCTAssertEqual(try store.put(raw), first)
    XCTAssertTrue((try readBytes(path)) == (try codec.compress(raw)))
    XCTAssertEqual(try store.temporaryFiles(), [])
  }

  /// A real write failure part way through the frame (the kernel's EFBIG once the file reaches
  /// RLIMIT_FSIZE, as ENOSPC would on a full disk): `put` throws naming the temporary file and the
  /// call, and leaves no object and no temporary file; with the limit lifted the same put succeeds.
  func testAWriteFailurePartWayLeavesNoObjectAndNoTemporaryFile() throws {
    let dir = try TemporaryDirectory("objects-put")
    defer { dir.remove() }
    let store = ObjectStore(root: dir.path + "/objects", codec: ZstdCodec(workers: 2))
    let raw = ZstdStreamTests.tileLike(byteCount: 4 * ZstdCodec.parallelByteCount, seed: 9)
    var caught: Error?
    try FileSizeLimit.with(bytes: 1 << 20) {
      do { _ = try store.put(raw) } catch { caught = error }
    }
    let failure = try XCTUnwrap(caught as? StorageError, "put did not fail: \(String(describing: caught))")
    XCTAssertEqual(failure.kind, .ioFailure)
    XCTAssertTrue(failure.description.contains(".object.tmp-"), failure.description)
    XCTAssertTrue(failure.description.contains("write failed"), failure.description)
    XCTAssertTrue(failure.description.contains("(errno 27)"), failure.description)
    XCTAssertEqual(try store.list(), [])
    XCTAssertEqual(try store.temporaryFiles(), [])
    XCTAssertEqual(try store.strayFiles(), [])
    let stored = try store.put(raw)
    XCTAssertEqual(stored.hash, ContentHash.sha256(raw))
    XCTAssertEqual(try store.list(), [stored.hash])
  }
}

private func readBytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
private func writeBytes(_ bytes: [UInt8], _ path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) 
  /// `put(_:abandonIf:)`: asked before each piece of the frame; `true` at the second piece of a
  /// three-piece frame leaves no object and no temporary file and returns nil; never `true`
  /// stores exactly what `put(_:)` stores.
  func testAbandonBetweenPiecesLeavesNoObjectAndNoTemporaryFile() throws {
    let dir = try TemporaryDirectory("objects-abandon")
    defer { dir.remove() }
    let store = ObjectStore(root: dir.path + "/objects", codec: ZstdCodec(workers: 2))
    let raw = ZstdStreamTests.tileLike(byteCount: ZstdCodec.streamChunkBytes * 2 + 5, seed: 9)
    var asked = 0
    let abandoned = try raw.withUnsafeBytes { bytes in
      try store.put(bytes, abandonIf: { asked += 1; return asked >= 2 })
    }
    XCTAssertNil(abandoned)
    XCTAssertEqual(asked, 2)
    XCTAssertEqual(try store.list(), [])
    XCTAssertEqual(try store.temporaryFiles(), [])
    asked = 0
    let stored = try XCTUnwrap(try raw.withUnsafeBytes { bytes in try store.put(bytes, abandonIf: { asked += 1; return false }) })
    XCTAssertEqual(asked, 3, "one question per piece of a frame of three pieces")
    XCTAssertEqual(stored.hash, ContentHash.sha256(raw))
    XCTAssertTrue((try store.read(stored.hash, rawByteCount: raw.count)) == raw)
  }
}
