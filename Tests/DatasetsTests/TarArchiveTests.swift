import Foundation
import TestSupport
import XCTest

@testable import Datasets
@testable import Storage

/// Runs the system `tar` (GNU tar on Linux), an independent writer of the archives the reader parses.
func runTar(_ arguments: [String], in directory: String) throws {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = ["tar"] + arguments
  process.currentDirectoryURL = URL(fileURLWithPath: directory)
  try process.run()
  process.waitUntilExit()
  XCTAssertEqual(process.terminationStatus, 0, "tar \(arguments) failed")
}

func temporaryDirectory(_ name: String) throws -> String {
  let path = NSTemporaryDirectory() + "ntkbatch-\(name)-\(UUID().uuidString)"
  try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}

final class TarArchiveTests: XCTestCase {
  /// Files with sizes around the 512-byte block boundary, a deep long path, written in three formats.
  func testReadsGNUPaxAndUstarArchivesWrittenByTar() throws {
    let directory = try temporaryDirectory("tar")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let longFolder = "batches/" + String(repeating: "very-long-folder-name/", count: 6)
    try FileManager.default.createDirectory(atPath: "\(directory)/\(longFolder)", withIntermediateDirectories: true)
    var contents: [String: [UInt8]] = [:]
    for (index, size) in [0, 1, 511, 512, 513, 3073 * 3].enumerated() {
      let name = index == 5 ? "\(longFolder)data_batch_\(index).bin" : "batches/file\(index).bin"
      let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
      XCTAssertTrue(FileManager.default.createFile(atPath: "\(directory)/\(name)", contents: Data(bytes)))
      contents[name] = bytes
    }
    XCTAssertGreaterThan(contents.keys.map(\.count).max()!, 100)
    for format in ["gnu", "pax", "ustar"] {
      try runTar(["--format=\(format)", "-czf", "archive-\(format).tar.gz", "batches"], in: directory)
      let archive = try TarArchive.read(path: "\(directory)/archive-\(format).tar.gz")
      for (name, bytes) in contents {
        XCTAssertEqual(try archive.contents(of: name), bytes, "\(format) \(name)")
        XCTAssertEqual(try archive.contents(of: "./" + name), bytes)
      }
      XCTAssertEqual(archive.member(named: "batches")?.typeFlag, UInt8(ascii: "5"), format)
      XCTAssertThrowsError(try archive.contents(of: "batches")) { error in
        XCTAssertTrue("\(error)".contains("is not a regular file"), "\(error)")
      }
      XCTAssertThrowsError(try archive.contents(of: "batches/missing.bin")) { error in
        XCTAssertTrue("\(error)".hasSuffix("archive has no member 'batches/missing.bin'"), "\(error)")
      }
    }
  }

  func testRejectsTruncatedArchivesAndBadHeaders() throws {
    let directory = try temporaryDirectory("tar-bad")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    XCTAssertTrue(FileManager.default.createFile(atPath: "\(directory)/a.bin", contents: Data([UInt8](repeating: 9, count: 2000))))
    try runTar(["--format=gnu", "-cf", "a.tar", "a.bin"], in: directory)
    let good = try FileBytes.read(path: "\(directory)/a.tar")
    XCTAssertEqual(try TarArchive(bytes: good, path: "a.tar").contents(of: "a.bin").count, 2000)

    func expectError(_ bytes: [UInt8], _ fragment: String, line: UInt = #line) {
      XCTAssertThrowsError(try TarArchive(bytes: bytes, path: "a.tar"), line: line) { error in
        XCTAssertEqual((error as? DatasetError)?.code, .malformedDataset, line: line)
        XCTAssertTrue("\(error)".contains(fragment), "\(error) lacks \(fragment)", line: line)
      }
    }
    expectError(Array(good.prefix(1500)), "truncated tar archive: member at byte 0 declares 2000 bytes, 988 remain")
    expectError(Array(good.prefix(300)), "truncated tar archive: partial header at byte 0")
    var badChecksum = good
    badChecksum[10] ^= 0x40
    expectError(badChecksum, "has checksum")
    var badMagic = good
    badMagic[257] = UInt8(ascii: "X")
    expectError(badMagic, "magic is not \"ustar\"")
    var badSize = good
    badSize[124] = UInt8(ascii: "9")
    // Recompute the header checksum so the size field itself is what fails.
    let sum = badSize[0..<512].enumerated().reduce(0) { $0 + ((148..<156).contains($1.offset) ? 0x20 : Int($1.element)) }
    badSize.replaceSubrange(148..<156, with: Array(String(format: "%06o", sum).utf8) + [0, 0x20])
    expectError(badSize, "size field is not an octal number")
  }
}
