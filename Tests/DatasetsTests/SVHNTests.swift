import Engine
import Foundation
import Storage
import XCTest
import TestSupport

@testable import Datasets

/// The repository's `Tests/Fixtures` folder.
let datasetFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("Fixtures").path

final class SVHNTests: XCTestCase {
  func testSampleMatchesReferenceTensorAndLabels() throws {
    let path = "\(datasetFixtures)/preprocess/svhn_sample.mat"
    let file = try MATFile.read(path: path)
    let x = try file.variable(named: "X", path: path)
    let y = try file.variable(named: "y", path: path)
    let samples = try SVHN.samples(images: x.uint8s(path: path), dimensions: x.dimensions, labels: y.doubles(path: path))
    let reference = try NpyArray.read(path: "\(datasetFixtures)/preprocess/svhn_first8.npy")
    XCTAssertEqual(reference.shape, [8, 3, 32, 32])
    let expected = reference.floats()
    XCTAssertEqual(samples.count, 8)
    XCTAssertEqual(samples.images.count, expected.count)
    let maxError = zip(samples.images, expected).map { abs($0 - $1) }.max() ?? .infinity
    XCTAssertLessThanOrEqual(maxError, 1e-6)
    let labels = try NpyArray.read(path: "\(datasetFixtures)/preprocess/svhn_labels.npy").int64s()
    XCTAssertEqual(samples.labels.map(Int64.init), labels)
    XCTAssertEqual(samples.labels, [0, 1, 2, 3, 0, 5, 9, 7])
    XCTAssertEqual(samples.labelHistogram, [2, 1, 1, 1, 0, 1, 0, 1, 0, 1])

    let firstThree = try SVHN.samples(images: x.uint8s(path: path), dimensions: x.dimensions, labels: y.doubles(path: path), limit: 3)
    XCTAssertEqual(firstThree.images, Array(samples.images.prefix(3 * 3072)))
    XCTAssertEqual(firstThree.labels, [0, 1, 2])
  }

  func testCatalogueDownloadIsTheFileTheReaderOpens() {
    XCTAssertEqual(DatasetKind.svhn.resources.map(\.fileName), DatasetKind.svhn.trainingFiles.flatMap(\.candidates))
    XCTAssertEqual(DatasetKind.svhn.resources[0].md5.count, 32)
    XCTAssertEqual(DatasetKind.svhn.trainingCount, 73_257)
    // IDX datasets: each download is one of the candidates of a training file, in the same order.
    for kind in [DatasetKind.mnist, .kmnist, .fmnist] {
      XCTAssertEqual(kind.resources.count, 2)
      for (resource, file) in zip(kind.resources, kind.trainingFiles) { XCTAssertTrue(file.candidates.contains(resource.fileName)) }
    }
    XCTAssertTrue(DatasetKind.svhn.missingFileHint.contains("train_32x32.mat"))
  }

  func testRejectsMalformedArraysLabelsAndOversizedSubsample() throws {
    let images = [UInt8](repeating: 7, count: 2 * 3072)
    func expect(_ code: DatasetError.Code, _ fragment: String, line: UInt = #line, _ body: () throws -> Void) {
      XCTAssertThrowsError(try body(), line: line) { error in
        XCTAssertEqual((error as? DatasetError)?.code, code, line: line)
        XCTAssertTrue("\(error)".contains(fragment), "\(error) lacks \(fragment)", line: line)
      }
    }
    XCTAssertNoThrow(try SVHN.samples(images: images, dimensions: [32, 32, 3, 2], labels: [10, 1]))
    expect(.malformedDataset, "expected 32×32×3×N") { _ = try SVHN.samples(images: images, dimensions: [32, 3, 32, 2], labels: [1, 1]) }
    expect(.malformedDataset, "need 9216") { _ = try SVHN.samples(images: images, dimensions: [32, 32, 3, 3], labels: [1, 1, 1]) }
    expect(.malformedDataset, "y holds 1 label, X holds 2") { _ = try SVHN.samples(images: images, dimensions: [32, 32, 3, 2], labels: [1]) }
    expect(.malformedDataset, "y[1] is 11.0") { _ = try SVHN.samples(images: images, dimensions: [32, 32, 3, 2], labels: [1, 11]) }
    expect(.malformedDataset, "y[0] is 0.0") { _ = try SVHN.samples(images: images, dimensions: [32, 32, 3, 2], labels: [0, 1]) }
    expect(.sampleRange, "subsample of 3 samples requested, the split holds 2") {
      _ = try SVHN.samples(images: images, dimensions: [32, 32, 3, 2], labels: [1, 1], limit: 3)
    }
  }
}

final class DatasetSplitCatalogueTests: XCTestCase {
  /// What `download` fetches for the test split is what its reader opens, with torchvision's MD5s.
  func testTestSplitDownloadsAreTheFilesTheReaderOpens() {
    for kind in DatasetKind.allCases {
      let resources = kind.resources(of: .test), files = kind.files(of: .test)
      XCTAssertTrue(resources.allSatisfy { $0.md5.count == 32 && $0.md5.allSatisfy(\.isHexDigit) }, "\(kind)")
      for resource in resources {
        XCTAssertTrue(files.contains { $0.candidates.contains(resource.fileName) || $0.archive?.path == resource.fileName }, "\(kind): \(resource.fileName)")
      }
      XCTAssertEqual(kind.files(of: .train), kind.trainingFiles)
      XCTAssertEqual(kind.resources(of: .train), kind.resources)
      XCTAssertTrue(kind.missingFileHint(for: .test).contains(resources[0].fileName))
    }
    XCTAssertEqual(DatasetKind.mnist.resources(of: .test).map(\.md5), ["9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"])
    XCTAssertEqual(DatasetKind.svhn.resources(of: .test).map(\.fileName), ["test_32x32.mat"])
    XCTAssertEqual(DatasetKind.cifar10.resources(of: .test), DatasetKind.cifar10.resources)  // one archive, both splits
    XCTAssertEqual(DatasetKind.cifar10.files(of: .test).map(\.candidates), [["test_batch.bin", "cifar-10-batches-bin/test_batch.bin"]])
    XCTAssertEqual([DatasetKind.cifar10, .mnist, .svhn].map { $0.count(of: .test) }, [10_000, 10_000, 26_032])
  }
}
