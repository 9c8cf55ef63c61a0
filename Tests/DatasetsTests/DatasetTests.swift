import Engine
import Storage
import TestSupport
import XCTest

@testable import Datasets

final class DatasetTests: XCTestCase {
  func idx(_ name: String) throws -> IDXFile {
    let path = TestPaths.repository.appendingPathComponent("data/mnist-sample/\(name)").path
    guard FileManager.default.fileExists(atPath: path) else {
      XCTFail("missing MNIST sample \(path)")
      throw DatasetError(.malformedDataset, "missing \(path)")
    }
    return try IDXFile(bytes: try Gzip.decompressIfNeeded(bytes: try FileBytes.read(path: path)), name: name)
  }

  func testMNISTPreprocessingMatchesFixture() throws {
    let images = try idx("train-images-idx3-ubyte.gz")
    XCTAssertEqual(images.kind, .images)
    XCTAssertEqual(images.dimensions, [5000, 28, 28])
    let reference = try NpyArray.read(path: try TestPaths.fixture("preprocess/mnist_first8.npy"))
    XCTAssertEqual(reference.shape, [8, 3, 32, 32])
    let transform = MNISTTransform()
    let float32 = try transform.tensor(images: images, range: 0..<8, scalar: Float.self)
    XCTAssertEqual(float32.shape, [8, 3, 32, 32])
    XCTAssertEqual(float32.storage, reference.floats(), "float32 transform reproduces the fixture exactly")
    let float64 = try transform.tensor(images: images, range: 0..<8, scalar: Double.self)
    XCTAssertLessThanOrEqual(maxAbsoluteDifference(float64.storage, reference.doubles()), 1e-7)
    XCTAssertThrowsError(try transform.tensor(images: images, range: 4999..<5001, scalar: Float.self))
  }

  func testMNISTLabels() throws {
    let labels = try idx("train-labels-idx1-ubyte.gz")
    XCTAssertEqual(labels.dimensions, [5000])
    let reference = try NpyArray.read(path: try TestPaths.fixture("preprocess/mnist_labels.npy")).int64s()
    XCTAssertEqual(try Array(labels.labels()[0..<8]), reference.map(Int.init))
  }

  func testPILCoefficients() {
    let taps = MNISTTransform.coefficients(inSize: 28, outSize: 32)
    let one = Int64(1 << 22)
    XCTAssertEqual(taps[0].weights.filter { $0 != 0 }, [one])
    XCTAssertEqual(taps[1].weights.filter { $0 != 0 }, [one * 3 / 16, one * 13 / 16])
    XCTAssertEqual(taps[2].weights.filter { $0 != 0 }, [one * 5 / 16, one * 11 / 16])
  }

  func testIDXErrors() {
    let header: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2]
    XCTAssertNoThrow(try IDXFile(bytes: header + [1, 2, 3, 4, 5, 6, 7, 8], name: "ok"))
    for (bytes, fragment) in [
      (header + [1, 2, 3], "truncated"),
      (header + [UInt8](repeating: 0, count: 9), "found 9"),
      ([0, 0, 8, 4] + header.dropFirst(4) + [UInt8](repeating: 0, count: 8), "magic"),
      (Array(header[0..<6]), "header"),
      ([0, 0], "too short"),
    ] {
      XCTAssertThrowsError(try IDXFile(bytes: bytes, name: "f.idx")) { error in
        let e = error as? DatasetError
        XCTAssertEqual(e?.code, .malformedDataset)
        XCTAssertTrue((e?.message ?? "").contains(fragment), e?.message ?? "")
      }
    }
    let labels = try? IDXFile(bytes: [0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9], name: "l")
    XCTAssertEqual(try labels?.labels(), [7, 8, 9])
  }
}
