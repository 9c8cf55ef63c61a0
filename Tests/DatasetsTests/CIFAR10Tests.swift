import Engine
import Foundation
import Storage
import XCTest
import TestSupport

@testable import Datasets

final class CIFAR10Tests: XCTestCase {
  func testBatchMatchesReferenceTensorAndLabels() throws {
    let bytes = try FileBytes.read(path: "\(datasetFixtures)/preprocess/cifar_batch.bin")
    XCTAssertEqual(bytes.count, 8 * CIFAR10.recordBytes)
    let samples = try CIFAR10.samples(batches: [(name: "cifar_batch.bin", bytes: bytes)])
    let reference = try NpyArray.read(path: "\(datasetFixtures)/preprocess/cifar_first8.npy")
    XCTAssertEqual(reference.shape, [8, 3, 32, 32])
    let expected = reference.floats()
    XCTAssertEqual(samples.images.count, expected.count)
    let maxError = zip(samples.images, expected).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(maxError, 1e-6)
    let labels = try NpyArray.read(path: "\(datasetFixtures)/preprocess/cifar_labels.npy").int64s()
    XCTAssertEqual(samples.labels.map(Int64.init), labels)
  }

  func testConcatenatesBatchesInFileOrderAndSubsamplesAcrossThem() throws {
    let bytes = try FileBytes.read(path: "\(datasetFixtures)/preprocess/cifar_batch.bin")
    let first = Array(bytes[0..<(5 * CIFAR10.recordBytes)]), second = Array(bytes[(5 * CIFAR10.recordBytes)...])
    let whole = try CIFAR10.samples(batches: [(name: "all", bytes: bytes)])
    let split = try CIFAR10.samples(batches: [(name: "b1", bytes: first), (name: "b2", bytes: second)])
    XCTAssertEqual(split, whole)
    let six = try CIFAR10.samples(batches: [(name: "b1", bytes: first), (name: "b2", bytes: second)], limit: 6)
    XCTAssertEqual(six.count, 6)
    XCTAssertEqual(six.images, Array(whole.images.prefix(6 * 3072)))
    XCTAssertEqual(six.labels, Array(whole.labels.prefix(6)))
    // A pixel worked by hand: record 2, green channel, row 4, column 9.
    let pixel = Float(bytes[2 * 3073 + 1 + 1024 + 4 * 32 + 9])
    XCTAssertEqual(whole.images[2 * 3072 + 1024 + 4 * 32 + 9], (pixel / 255 - 0.4822) / 0.1994)
  }

  func testRejectsTruncatedOversizedBadLabelAndOversizedSubsample() throws {
    let bytes = try FileBytes.read(path: "\(datasetFixtures)/preprocess/cifar_batch.bin")
    func expect(_ code: DatasetError.Code, _ fragment: String, line: UInt = #line, _ body: () throws -> Void) {
      XCTAssertThrowsError(try body(), line: line) { error in
        XCTAssertEqual((error as? DatasetError)?.code, code, line: line)
        XCTAssertTrue("\(error)".contains(fragment), "\(error) lacks \(fragment)", line: line)
      }
    }
    expect(.malformedDataset, "data_batch_1.bin holds 24583 bytes, not a whole number of 3073-byte records") {
      _ = try CIFAR10.samples(batches: [(name: "data_batch_1.bin", bytes: Array(bytes.dropLast()))])
    }
    expect(.malformedDataset, "holds 24585 bytes") {
      _ = try CIFAR10.samples(batches: [(name: "data_batch_1.bin", bytes: bytes + [0])])
    }
    var badLabel = bytes
    badLabel[3 * 3073] = 10
    expect(.malformedDataset, "data_batch_2.bin record 3 has label 10, expected 0...9") {
      _ = try CIFAR10.samples(batches: [(name: "data_batch_2.bin", bytes: badLabel)])
    }
    expect(.sampleRange, "subsample of 9 samples requested, the split holds 8") {
      _ = try CIFAR10.samples(batches: [(name: "data_batch_1.bin", bytes: bytes)], limit: 9)
    }
  }
}
