import Engine
import Foundation
import Storage
import TestSupport
import XCTest

@testable import Datasets

/// Feeds each reader mutated copies of a valid file: truncations, byte flips, huge 32-bit words
/// (sizes and dimensions), duplicated chunks and trailing garbage. Every input must end in a
/// valid parse or in the reader's documented error type; a crash fails the whole test run.
final class DatasetFuzzTests: XCTestCase {
  static let mutationsPerReader = 1_000

  private func mutate(_ original: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
    var bytes = original
    let rounds = 1 + random.below(3)
    for _ in 0..<rounds where !bytes.isEmpty {
      switch random.below(6) {
      case 0:  // truncation
        bytes.removeSubrange(random.below(bytes.count)...)
      case 1:  // byte flips
        for _ in 0..<(1 + random.below(8)) {
          bytes[random.below(bytes.count)] ^= UInt8(truncatingIfNeeded: 1 + random.below(255))
        }
      case 2, 3:  // a huge or negative 32-bit word, aligned, mostly in the headers where sizes live
        let window = random.below(4) == 0 ? bytes.count : min(bytes.count, 700)
        let position = random.below(max(window / 4, 1)) * 4
        let words: [UInt32] = [0x7FFF_FFFF, 0xFFFF_FFFF, 0x8000_0000, 0x0001_0000, 0x4000_0000, UInt32(random.below(1 << 20))]
        let word = words[random.below(words.count)]
        for k in 0..<4 where position + k < bytes.count { bytes[position + k] = UInt8(truncatingIfNeeded: word >> (8 * k)) }
      case 4:  // a duplicated chunk
        let start = random.below(bytes.count)
        let end = min(bytes.count, start + 1 + random.below(600))
        bytes.insert(contentsOf: bytes[start..<end], at: random.below(bytes.count))
      default:  // trailing garbage
        bytes += (0..<(1 + random.below(64))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
      }
    }
    return bytes
  }

  /// Runs `body` on `mutationsPerReader` mutations of `original`; returns (parsed, rejected) counts.
  private func fuzz(_ original: [UInt8], seed: UInt64, expecting errorTypes: [Error.Type],
                    _ body: ([UInt8]) throws -> Void) -> (parsed: Int, rejected: Int) {
    var random = SplitMix64(seed: seed)
    var parsed = 0, rejected = 0
    for index in 0..<Self.mutationsPerReader {
      let input = mutate(original, &random)
      do {
        try body(input)
        parsed += 1
      } catch {
        rejected += 1
        let known = errorTypes.contains { ObjectIdentifier($0) == ObjectIdentifier(type(of: error)) }
        XCTAssertTrue(known, "mutation \(index): unexpected error \(type(of: error)): \(error)")
        XCTAssertFalse("\(error)".contains("\n"), "mutation \(index): message is not one line: \(error)")
      }
    }
    XCTAssertEqual(parsed + rejected, Self.mutationsPerReader)
    print("fuzz seed \(seed): \(parsed) parsed, \(rejected) rejected")
    return (parsed, rejected)
  }

  /// MAT-file → SVHN preprocessing, both on the uncompressed fixture and on a compressed rewrite.
  func testMATReaderAndSVHNSurviveMutatedFiles() throws {
    let path = "\(datasetFixtures)/preprocess/svhn_sample.mat"
    let plain = try FileBytes.read(path: path)
    // The same variables as one miCOMPRESSED element each (zlib), so mutations hit the inflater.
    var compressed = Array(plain[0..<128])
    var reader = 128
    while reader + 8 <= plain.count {
      let count = Int(UInt32(plain[reader + 4]) | UInt32(plain[reader + 5]) << 8 | UInt32(plain[reader + 6]) << 16 | UInt32(plain[reader + 7]) << 24)
      let element = Array(plain[reader..<(reader + 8 + count)])
      let deflated = Zlib.deflate(element)
      compressed += [15, 0, 0, 0] + withUnsafeBytes(of: UInt32(deflated.count).littleEndian, Array.init) + deflated
      reader += 8 + count + (8 - count % 8) % 8
    }
    let reference = try MATFile(bytes: plain, path: path).variables.map(\.real)
    XCTAssertEqual(try MATFile(bytes: compressed, path: "compressed.mat").variables.map(\.real), reference)

    for (seed, original) in [(UInt64(1), plain), (UInt64(2), compressed)] {
      let outcome = fuzz(original, seed: seed, expecting: [StorageError.self, DatasetError.self]) { bytes in
        let file = try MATFile(bytes: bytes, path: "fuzz.mat")
        let x = try file.variable(named: "X", path: "fuzz.mat")
        let y = try file.variable(named: "y", path: "fuzz.mat")
        let samples = try SVHN.samples(images: x.uint8s(path: "fuzz.mat"), dimensions: x.dimensions, labels: y.doubles(path: "fuzz.mat"))
        XCTAssertEqual(samples.images.count, samples.count * 3072)
      }
      XCTAssertGreaterThan(outcome.rejected, 100, "seed \(seed)")
      XCTAssertGreaterThan(outcome.parsed, 10, "seed \(seed)")
    }
  }

  func testCIFARParserSurvivesMutatedBatches() throws {
    let original = try FileBytes.read(path: "\(datasetFixtures)/preprocess/cifar_batch.bin")
    let outcome = fuzz(original, seed: 3, expecting: [DatasetError.self]) { bytes in
      let samples = try CIFAR10.samples(batches: [(name: "fuzz.bin", bytes: bytes)])
      XCTAssertEqual(samples.count, bytes.count / 3073)
      XCTAssertTrue(samples.labels.allSatisfy { (0...9).contains($0) })
    }
    XCTAssertGreaterThan(outcome.rejected, 100)
    XCTAssertGreaterThan(outcome.parsed, 10)
  }

  /// A small CIFAR-style archive written by the system `tar`, mutated raw and gzipped.
  func testTarReaderSurvivesMutatedArchives() throws {
    let directory = NSTemporaryDirectory() + "ntkbatch-fuzz-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let folder = "\(directory)/\(DatasetKind.cifarFolder)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let batch = try FileBytes.read(path: "\(datasetFixtures)/preprocess/cifar_batch.bin")
    XCTAssertTrue(FileManager.default.createFile(atPath: "\(folder)/data_batch_1.bin", contents: Data(batch[0..<(2 * 3073)])))
    XCTAssertTrue(FileManager.default.createFile(atPath: "\(folder)/batches.meta.txt", contents: Data("airplane\nautomobile\n".utf8)))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["tar", "--format=gnu", "-cf", "a.tar", DatasetKind.cifarFolder]
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    try process.run()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0)
    let tar = try FileBytes.read(path: "\(directory)/a.tar")
    let member = "\(DatasetKind.cifarFolder)/data_batch_1.bin"
    XCTAssertEqual(try TarArchive(bytes: tar, path: "a.tar").contents(of: member), Array(batch[0..<(2 * 3073)]))

    let outcome = fuzz(tar, seed: 4, expecting: [StorageError.self, DatasetError.self]) { bytes in
      let archive = try TarArchive(bytes: bytes, path: "fuzz.tar")
      for member in archive.members where member.isRegularFile {
        XCTAssertLessThanOrEqual(member.dataOffset + member.size, bytes.count)
      }
      _ = try CIFAR10.samples(batches: [(name: member, bytes: archive.contents(of: member))])
    }
    XCTAssertGreaterThan(outcome.rejected, 100)
    XCTAssertGreaterThan(outcome.parsed, 10)

    // Gzipped: mutations of the compressed stream go through Gzip first.
    let gzipped = try gzip(tar, in: directory)
    XCTAssertEqual(try Gzip.decompressIfNeeded(bytes: gzipped, path: "a.tar.gz"), tar)
    _ = fuzz(gzipped, seed: 5, expecting: [StorageError.self, DatasetError.self]) { bytes in
      _ = try TarArchive(bytes: Gzip.decompressIfNeeded(bytes: bytes, path: "fuzz.tar.gz"), path: "fuzz.tar.gz")
    }
  }

  private func gzip(_ bytes: [UInt8], in directory: String) throws -> [UInt8] {
    XCTAssertTrue(FileManager.default.createFile(atPath: "\(directory)/b.tar", contents: Data(bytes)))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["gzip", "-kf", "b.tar"]
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    try process.run()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0)
    return try FileBytes.read(path: "\(directory)/b.tar.gz")
  }
}
