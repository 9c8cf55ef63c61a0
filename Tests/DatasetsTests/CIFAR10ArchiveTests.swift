import Engine
import Foundation
import Storage
import XCTest
import TestSupport

@testable import Datasets

final class CIFAR10ArchiveTests: XCTestCase {
  /// Five batches packed by the system `tar` into `cifar-10-binary.tar.gz`, read through
  /// `DatasetKind.cifar10.trainingFiles` and decoded in file order.
  func testReadsBatchesFromTheOfficialArchiveLayout() throws {
    let bytes = try FileBytes.read(path: "\(datasetFixtures)/preprocess/cifar_batch.bin")
    let root = NSTemporaryDirectory() + "ntkbatch-cifar-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    try FileManager.default.createDirectory(atPath: "\(root)/\(DatasetKind.cifarFolder)", withIntermediateDirectories: true)
    // Batches 1…5 hold records [0,1], [2,3], [4], [5,6], [7].
    let split = [[0, 1], [2, 3], [4], [5, 6], [7]]
    for (index, records) in split.enumerated() {
      let batch = records.flatMap { bytes[($0 * 3073)..<(($0 + 1) * 3073)] }
      XCTAssertTrue(FileManager.default.createFile(atPath: "\(root)/\(DatasetKind.cifarFolder)/data_batch_\(index + 1).bin", contents: Data(batch)))
    }
    XCTAssertTrue(FileManager.default.createFile(atPath: "\(root)/\(DatasetKind.cifarFolder)/batches.meta.txt", contents: Data("airplane\n".utf8)))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["tar", "-czf", "cifar-10-binary.tar.gz", DatasetKind.cifarFolder]
    process.currentDirectoryURL = URL(fileURLWithPath: root)
    try process.run()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0)

    let files = DatasetKind.cifar10.trainingFiles
    XCTAssertEqual(files.count, 5)
    let archivePath = try XCTUnwrap(files[0].archive?.path)
    // What `download` fetches is what the reader looks for.
    XCTAssertEqual(DatasetKind.cifar10.resources.map(\.fileName), [archivePath])
    XCTAssertEqual(DatasetKind.cifar10.trainingCount, 5 * CIFAR10.recordsPerBatch)
    let archive = try TarArchive.read(path: "\(root)/\(archivePath)")
    let batches = try files.map { file in
      let member = try XCTUnwrap(file.archive?.member)
      return (name: member, bytes: try archive.contents(of: member))
    }
    let fromArchive = try CIFAR10.samples(batches: batches)
    XCTAssertEqual(fromArchive, try CIFAR10.samples(batches: [(name: "cifar_batch.bin", bytes: bytes)]))
    let reference = try NpyArray.read(path: "\(datasetFixtures)/preprocess/cifar_first8.npy").floats()
    XCTAssertLessThanOrEqual(zip(fromArchive.images, reference).map { abs($0 - $1) }.max() ?? .infinity, 1e-6)
    // The extracted folder is the second candidate of each batch.
    let fromFolder = try files.map { file in
      (name: file.candidates[1], bytes: try FileBytes.read(path: "\(root)/\(file.candidates[1])"))
    }
    XCTAssertEqual(try CIFAR10.samples(batches: fromFolder), fromArchive)
  }
}
