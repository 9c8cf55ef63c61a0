import XCTest
@testable import Storage
import TestSupport

final class ObjectStoreTests: XCTestCase {
  func testPutReadRoundTripAndLayout() throws {
    let dir = try TemporaryDirectory("objects")
    defer { dir.remove() }
    let store = ObjectStore(root: dir.path + "/objects")
    let raw = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 / 3) }
    let stored = try store.put(raw)
    XCTAssertEqual(stored.hash, ContentHash.sha256(raw))
    XCTAssertEqual(stored.rawByteCount, raw.count)
    let hex = stored.hash.hex
    let expectedPath = dir.path + "/objects/" + hex.prefix(2) + "/" + hex.dropFirst(2)
    XCTAssertEqual(store.path(for: stored.hash), expectedPath)
    let attributes = try FileManager.default.attributesOfItem(atPath: expectedPath)
    XCTAssertEqual((attributes[.size] as? NSNumber)?.intValue, stored.storedByteCount)
    XCTAssertLessThan(stored.storedByteCount, raw.count)
    XCTAssertEqual(try store.read(stored.hash, rawByteCount: raw.count), raw)
    XCTAssertEqual(try store.read(stored.hash), raw)
    XCTAssertEqual(try store.list(), [stored.hash])
    XCTAssertEqual(store.condition(of: stored.hash, rawByteCount: raw.count), .intact(storedByteCount: stored.storedByteCount))
  }

  func testPutOfPresentObjectDoesNotRewrite() throws {
    let dir = try TemporaryDirectory("objects")
    defer { dir.remove() }
    let store = ObjectStore(root: dir.path + "/objects")
    let raw = [UInt8](repeating: 42, count: 1234)
    let first = try store.put(raw)
    let path = store.path(for: first.hash)
    let inode = (try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber)?.intValue
    let second = try store.put(raw)
    XCTAssertEqual(first, second)
    let inodeAfter = (try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber)?.intValue
    XCTAssertEqual(inode, inodeAfter, "an intact object must not be rewritten")
  }

  func testFlippedByteIsDetectedAndNamesTheObject() throws {
    let dir = try TemporaryDirectory("objects")
    defer { dir.remove() }
    let store = ObjectStore(root: dir.path + "/objects")
    let raw = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }
    let stored = try store.put(raw)
    let path = store.path(for: stored.hash)
    try flipByte(atPath: path, offset: stored.storedByteCount / 2)
    XCTAssertThrowsError(try store.read(stored.hash, rawByteCount: raw.count)) { error in
      let text = "\(error)"
      XCTAssertTrue(text.contains(stored.hash.hex), text)
      XCTAssertTrue(text.contains("damaged"), text)
      XCTAssertTrue(text.hasPrefix(path), text)
    }
    guard case .damaged = store.condition(of: stored.hash, rawByteCount: raw.count) else {
      return XCTFail("flipped object not reported damaged")
    }
    // A put of the same bytes repairs it.
    _ = try store.put(raw)
    XCTAssertEqual(try store.read(stored.hash, rawByteCount: raw.count), raw)
  }

  func testMissingObjectAndRemoveAndTemporaryFiles() throws {
    let dir = try TemporaryDirectory("objects")
    defer { dir.remove() }
    let store = ObjectStore(root: dir.path + "/objects")
    let a = try store.put([UInt8](repeating: 1, count: 100))
    let b = try store.put([UInt8](repeating: 2, count: 100))
    XCTAssertEqual(try store.list(), [a.hash, b.hash].sorted())
    try store.remove(a.hash)
    XCTAssertEqual(try store.list(), [b.hash])
    XCTAssertEqual(store.condition(of: a.hash), .missing)
    XCTAssertThrowsError(try store.read(a.hash, rawByteCount: 100)) { error in
      XCTAssertTrue("\(error)".contains("object \(a.hash.hex) is missing"), "\(error)")
    }
    let leftover = AtomicFile.temporaryPath(for: store.path(for: b.hash))
    FileManager.default.createFile(atPath: leftover, contents: Data([1, 2, 3]))
    XCTAssertEqual(try store.temporaryFiles(), [leftover])
    XCTAssertEqual(try store.list(), [b.hash], "temporary files are not objects")
    XCTAssertEqual(try store.removeTemporaryFiles(), [leftover])
    XCTAssertFalse(FileManager.default.fileExists(atPath: leftover))
  }

  func testAtomicFileReplacesContentAndLeavesNoTemporary() throws {
    let dir = try TemporaryDirectory("atomic")
    defer { dir.remove() }
    let path = dir.path + "/file.bin"
    try AtomicFile.write([UInt8](repeating: 1, count: 10), to: path)
    try AtomicFile.write([UInt8]([9, 8, 7]), to: path)
    XCTAssertEqual(try FileBytes.read(path: path), [9, 8, 7])
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["file.bin"])
  }

  func testSystemFileErrorsNameThePathAndErrno() throws {
    XCTAssertThrowsError(try SystemFile.openForReading(path: "/nonexistent/dir/x")) { error in
      let text = "\(error)"
      XCTAssertTrue(text.hasPrefix("/nonexistent/dir/x: open failed"), text)
      XCTAssertTrue(text.contains("errno 2"), text)
    }
    let full = SystemFile.error(.noSpace, "write", path: "/run/x")
    XCTAssertEqual(full.kind, .ioFailure)
    XCTAssertTrue(full.description.contains("ENOSPC"), full.description)
    XCTAssertTrue(full.description.contains("disk is full"), full.description)
  }
}

extension ObjectStoreTests {
  /// A real ENOSPC from the kernel (/dev/full fails every write with it) comes back as an error
  /// value naming the path, the call and the meaning.
  func testFullDeviceGivesClearENOSPCError() throws {
    let file = try SystemFile.openForUpdate(path: "/dev/full", create: false)
    defer { try? file.close() }
    XCTAssertThrowsError(try file.writeAll([UInt8](repeating: 1, count: 100))) { error in
      let e = error as? StorageError
      XCTAssertEqual(e?.kind, .ioFailure)
      XCTAssertTrue(e?.description.hasPrefix("/dev/full: write failed: ") ?? false, "\(error)")
      XCTAssertTrue(e?.description.contains("errno 28, ENOSPC): the disk is full") ?? false, "\(error)")
    }
  }
}
