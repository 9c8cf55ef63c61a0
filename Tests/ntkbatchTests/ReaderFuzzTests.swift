import Foundation
import XCTest
@testable import Checkpoint
@testable import Datasets
@testable import Engine
@testable import Storage

/// Seeded mutation fuzzing (2,000 cases each, in-process) of the readers of files ntkbatch takes
/// from users or leaves on disk: `.npy` header, `.safetensors` header, IDX, manifest and journal.
/// Every case ends in a correct read (checked against the format's invariants) or in the reader's
/// clean error type with a one-line message; never a trap, a hang, or an allocation a header made
/// up (sizes are checked against the bytes present before anything is allocated).
final class ReaderFuzzTests: XCTestCase {
  // MARK: .npy

  func testNpyHeaderFuzz() throws {
    let data = (0..<12).flatMap { withUnsafeBytes(of: Float($0), Array.init) }
    let v1 = NpyArray(header: NpyHeader(dtype: .float32, shape: [3, 4]), data: data).encoded()
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"
    var v3Text = Array(dict.utf8) + [0x0A]
    v3Text += [UInt8](repeating: 0x20, count: (64 - (12 + v3Text.count) % 64) % 64)
    let v3 = NpyHeader.magic + [3, 0] + withUnsafeBytes(of: UInt32(v3Text.count).littleEndian, Array.init) + v3Text + data
    XCTAssertEqual(try NpyArray(bytes: v3, path: "v3.npy").floats(), (0..<12).map(Float.init))
    let outcome = Fuzzer.run("npy", seed: 12, expecting: [StorageError.self], mutate: { random in
      switch random.below(3) {
      case 0: return Fuzzer.mutateBytes(random.below(2) == 0 ? v1 : v3, window: 80, &random)
      default:
        // Rewrite the dict text, keeping the preamble's length field consistent.
        let text = Fuzzer.mutateText(dict, &random) + [0x0A]
        var payload = data
        // Mostly give a header that reads the data it declares (when small), so reads succeed.
        let v2Preamble = NpyHeader.magic + [2, 0] + withUnsafeBytes(of: UInt32(text.count).littleEndian, Array.init) + text
        if let declared = try? NpyHeader.decode(v2Preamble, path: "probe").header.dataBytes, declared <= 1 << 16 {
          payload = (0..<declared).map { UInt8(truncatingIfNeeded: $0 * 7) }
        }
        if random.below(8) == 0 { payload = Array(payload.prefix(random.below(payload.count + 1))) }
        if random.below(2) == 0, text.count < 65_536 {
          return NpyHeader.magic + [1, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text + payload
        }
        return NpyHeader.magic + [2, 0] + withUnsafeBytes(of: UInt32(text.count).littleEndian, Array.init) + text + payload
      }
    }) { bytes in
      let array = try NpyArray(bytes: bytes, path: "fuzz.npy")
      XCTAssertEqual(array.data.count, array.header.dataBytes)
      XCTAssertLessThanOrEqual(array.data.count, bytes.count)
      XCTAssertEqual(try NpyHeader.decode(array.header.encoded(), path: "again.npy").header, array.header)
      XCTAssertEqual(array.doubles().count, array.header.count)
    }
    XCTAssertGreaterThan(outcome.rejected, 500)
    XCTAssertGreaterThan(outcome.read, 50)
  }

  // MARK: .safetensors

  func testSafetensorsHeaderFuzz() throws {
    let original = SafetensorsFile.encode(
      [(name: "fc.weight", shape: [4, 3], values: (0..<12).map(Double.init)), (name: "fc.bias", shape: [4], values: [1, 2, 3, 4])],
      integerEntries: [(name: "bn.num_batches_tracked", shape: [], values: [7])])
    let headerLength = Int(original[0]) | Int(original[1]) << 8
    let header = String(decoding: original[8..<(8 + headerLength)], as: UTF8.self)
    let buffer = Array(original[(8 + headerLength)...])
    XCTAssertEqual(try SafetensorsFile(bytes: original, path: "w.safetensors").names, ["fc.weight", "fc.bias", "bn.num_batches_tracked"])
    let outcome = Fuzzer.run("safetensors", seed: 13, expecting: [StorageError.self], mutate: { random in
      if random.below(3) == 0 { return Fuzzer.mutateBytes(original, window: 8 + headerLength, &random) }
      let text = Fuzzer.mutateText(header, &random)
      var data = buffer
      if random.below(6) == 0 { data = Fuzzer.mutateBytes(data, window: data.count, &random) }
      return withUnsafeBytes(of: UInt64(text.count).littleEndian, Array.init) + text + data
    }) { bytes in
      let file = try SafetensorsFile(bytes: bytes, path: "fuzz.safetensors")
      // A read file tiles its data buffer exactly with its tensors, in `names` order.
      var total = 0
      for name in file.names {
        let tensor = try XCTUnwrap(file.tensors[name])
        let size = try XCTUnwrap(SafetensorsFile.elementSize[tensor.dtype])
        XCTAssertEqual(tensor.data.count, try XCTUnwrap(ShapeSize.byteCount(tensor.shape, elementBytes: size)))
        XCTAssertEqual(tensor.doubles().count, tensor.count)
        total += tensor.data.count
      }
      XCTAssertEqual(Set(file.names).count, file.names.count)
      let length = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
      XCTAssertEqual(total, bytes.count - 8 - length)
    }
    XCTAssertGreaterThan(outcome.rejected, 500)
    XCTAssertGreaterThan(outcome.read, 50)
  }

  // MARK: IDX

  func testIDXFuzz() throws {
    let images: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 28, 0, 0, 0, 28] + (0..<(5 * 784)).map { UInt8($0 % 251) }
    let labels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 5, 3, 1, 4, 1, 5]
    XCTAssertEqual(try IDXFile(bytes: images, name: "images").dimensions, [5, 28, 28])
    let outcome = Fuzzer.run("idx", seed: 14, expecting: [DatasetError.self], mutate: { random in
      Fuzzer.mutateBytes(random.below(2) == 0 ? images : labels, window: 16, &random)
    }) { bytes in
      let file = try IDXFile(bytes: bytes, name: "fuzz-idx")
      XCTAssertEqual(file.data.count, try XCTUnwrap(ShapeSize.elementCount(file.dimensions)))
      XCTAssertEqual(file.data.count, bytes.count - 4 - 4 * file.dimensions.count)
      if file.kind == .labels, let classes = try? file.labels() { XCTAssertTrue(classes.allSatisfy { (0...9).contains($0) }) }
      if file.kind == .images, file.dimensions[1] == 28, file.dimensions[2] == 28, file.count > 0 {
        let tensor = try MNISTTransform().tensor(images: file, range: 0..<min(file.count, 2), scalar: Float.self)
        XCTAssertTrue(tensor.storage.allSatisfy(\.isFinite))
      }
    }
    XCTAssertGreaterThan(outcome.rejected, 500)
    XCTAssertGreaterThan(outcome.read, 50)
  }

  // MARK: manifest

  func testManifestFuzz() throws {
    let original = """
      {"name": "fuzz", "dataset": {"name": "mnist", "root": "data", "subsample": 100},
       "model": {"name": "lenet", "width": 64, "seed": 3, "weights": "w.safetensors",
                 "train": {"lr": 0.1, "batchSize": 64, "epochs": 5, "targetAccuracy": 0.99, "seed": 0, "samples": 500}},
       "ntk": {"precision": "float64", "normalization": "none", "tileSamples": 10, "memoryBudget": 1000000000}}
      """
    let models = Set(ModelZoo.names)
    let reference = try Manifest.parse(Array(original.utf8), file: "m.json", knownModels: models, knownDatasets: DatasetKind.manifestNames)
    XCTAssertEqual(reference.ntk.tileSamples, 10)
    let outcome = Fuzzer.run("manifest", seed: 15, expecting: [CheckpointError.self], mutate: { random in
      random.below(4) == 0 ? Fuzzer.mutateBytes(Array(original.utf8), window: original.utf8.count, &random) : Fuzzer.mutateText(original, &random)
    }) { bytes in
      do {
        let manifest = try Manifest.parse(bytes, file: "fuzz.json", knownModels: models, knownDatasets: DatasetKind.manifestNames)
        // A manifest that reads has no duplicate key and survives its canonical form unchanged.
        XCTAssertNil(JSONDuplicateKeys.first(in: bytes))
        XCTAssertEqual(try Manifest.parse(manifest.canonicalJSON(), file: "canonical.json", knownModels: models, knownDatasets: DatasetKind.manifestNames).canonicalJSON(),
                       manifest.canonicalJSON())
      } catch let error as CheckpointError {
        XCTAssertEqual(error.code, .badInput)
        XCTAssertTrue(error.message.hasPrefix("fuzz.json: "), error.message)
        throw error
      }
    }
    XCTAssertGreaterThan(outcome.rejected, 1_000)
    XCTAssertGreaterThan(outcome.read, 20)
  }

  // MARK: journal

  /// A journal segment (header, tiles, a drop) mutated as raw bytes — mostly checksum failures,
  /// torn tails and damage — and as payloads re-framed with valid checksums, so that the JSON and
  /// the numbers in the records reach the replay's checks; then `status` and `verify` read it.
  func testJournalFuzz() throws {
    let directory = try CLIHarness.temporaryDirectory("journal-fuzz")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let run = RunDirectory(path: directory + "/run")
    try run.createLayout()
    let identity = RunIdentity(manifestHash: ContentHash.sha256(Array("m".utf8)), weightsHash: ContentHash.sha256(Array("w".utf8)),
                               inputDataHash: ContentHash.sha256(Array("d".utf8)), sampleCount: 25, tileSamples: 10,
                               precision: .float32, normalization: .sqrtParams)
    let plan = try identity.plan()
    var payloads: [[UInt8]] = []
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let header = JournalHeader(identity: identity, session: 1, host: "h", pid: 7, startTime: "2026-11-30T00:00:00Z")
    payloads.append(Array(try encoder.encode(JournalRecord.header(header))))
    for tile in plan.tiles.prefix(4) {
      let record = TileRecord(index: tile.index, rowBlock: tile.rowBlock, columnBlock: tile.columnBlock,
                              object: ContentHash.sha256(Array("tile\(tile.index)".utf8)), rawByteCount: tile.rawByteCount,
                              storedByteCount: 1000 + tile.index, computeSeconds: 0.5)
      payloads.append(Array(try encoder.encode(JournalRecord.tile(record))))
    }
    payloads.append(Array(try encoder.encode(JournalRecord.drop(TileDrop(
      index: 3, rowBlock: 0, columnBlock: 3 % plan.blockCount, object: ContentHash.sha256(Array("tile3".utf8)), reason: "gone")))))
    let segment = payloads.flatMap(JournalFrame.encode)
    let path = run.journalDirectory + "/" + Journal.segmentName(1)
    try Data(segment).write(to: URL(fileURLWithPath: path))
    XCTAssertEqual(try run.journal.replay().tiles.count, 3)

    let outcome = Fuzzer.run("journal", seed: 16, expecting: [CheckpointError.self], mutate: { random in
      if random.below(3) == 0 { return Fuzzer.mutateBytes(segment, window: segment.count, &random) }
      var mutated = payloads
      let k = random.below(mutated.count)
      mutated[k] = Fuzzer.mutateText(String(decoding: mutated[k], as: UTF8.self), &random)
      if random.below(5) == 0 { mutated.insert(mutated[random.below(mutated.count)], at: random.below(mutated.count)) }
      return mutated.filter { !$0.isEmpty && $0.count <= JournalFrame.maximumPayload }.flatMap(JournalFrame.encode)
    }) { bytes in
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      do {
        let replay = try run.journal.replay()
        for record in replay.tiles.values {
          XCTAssertNil(record.boundsProblem(try XCTUnwrap(replay.identity?.recordBounds)), "\(record)")
        }
        let status = try RunStatus.read(run: run)
        XCTAssertEqual(status.tilesDone, replay.tiles.count)
        let report = try RunVerifier.verify(run: run)
        XCTAssertEqual(report.problems.count, replay.tiles.count, "no object exists, so every journaled tile is missing")
      } catch let error as CheckpointError {
        XCTAssertTrue([.damaged, .badInput].contains(error.code), "\(error.code): \(error.message)")
        XCTAssertTrue(error.message.contains(path) || error.message.hasPrefix("tile plan"), error.message)
        throw error
      }
    }
    XCTAssertGreaterThan(outcome.rejected, 300)
    XCTAssertGreaterThan(outcome.read, 200)
  }
}
