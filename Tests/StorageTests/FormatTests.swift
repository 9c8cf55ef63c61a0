import Foundation
import XCTest
@testable import Storage

/// The repository's `Tests/Fixtures` folder (PyTorch references copied from `../shared/fixtures`).
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("Fixtures").path
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().path

final class FormatTests: XCTestCase {
  func testNpyReadsFixtureShapesAndValues() throws {
    let ntk = try NpyArray.read(path: "\(fixtures)/lenet-w0/ntk.npy")
    XCTAssertEqual(ntk.dtype, .float64)
    XCTAssertEqual(ntk.shape, [30, 30])
    let values = ntk.doubles()
    // The reference eNTK is exactly symmetric and its Frobenius norm is recorded in meta.json.
    for i in 0..<30 { for j in 0..<30 { XCTAssertEqual(values[i * 30 + j], values[j * 30 + i]) } }
    let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
    XCTAssertEqual(norm, 41.326431116331186, accuracy: 1e-9)
    let labels = try NpyArray.read(path: "\(fixtures)/preprocess/mnist_labels.npy")
    XCTAssertEqual(labels.int64s(), [4, 2, 0, 9, 6, 6, 2, 1])
  }

  func testNpyHeaderRoundTripIsAlignedAndParsable() throws {
    for shape in [[3], [30, 30], [2, 3, 32, 32], []] {
      let header = NpyHeader(dtype: .float16, shape: shape)
      let bytes = header.encoded()
      XCTAssertEqual(bytes.count % 64, 0)
      XCTAssertEqual(bytes.last, 0x0A)
      let (decoded, offset) = try NpyHeader.decode(bytes, path: "x.npy")
      XCTAssertEqual(decoded, header)
      XCTAssertEqual(offset, bytes.count)
    }
  }

  func testNpyRejectsTruncatedAndMisheadedFiles() throws {
    let good = NpyArray(shape: [2, 2], values: [1.0, 2, 3, 4] as [Double]).encoded()
    XCTAssertNoThrow(try NpyArray(bytes: good, path: "a.npy"))
    XCTAssertThrowsError(try NpyArray(bytes: Array(good.dropLast()), path: "a.npy")) { error in
      XCTAssertTrue("\(error)".contains("a.npy: "), "\(error)")
      XCTAssertTrue("\(error)".contains("needs 32 data bytes, found 31"), "\(error)")
    }
    var bad = good
    bad[0] = 0
    XCTAssertThrowsError(try NpyArray(bytes: bad, path: "a.npy"))
    XCTAssertThrowsError(try NpyArray(bytes: Array(good.prefix(20)), path: "a.npy"))
  }

  func testSafetensorsReadsFixtureInFileOrderAndRoundTrips() throws {
    let file = try SafetensorsFile.read(path: "\(fixtures)/lenet-w0/weights.safetensors")
    XCTAssertEqual(Set(file.names), ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight",
                                     "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"])
    XCTAssertEqual(file.tensors["conv2.weight"]?.shape, [16, 6, 5, 5])
    let entries = file.names.map { (name: $0, shape: file.tensors[$0]!.shape, values: file.tensors[$0]!.doubles()) }
    let again = try SafetensorsFile(bytes: SafetensorsFile.encode(entries), path: "copy")
    XCTAssertEqual(again.names, file.names)
    for name in file.names { XCTAssertEqual(again.tensors[name]!.doubles(), file.tensors[name]!.doubles()) }
  }

  func testSafetensorsRejectsBadOffsets() throws {
    var bytes = SafetensorsFile.encode([(name: "w", shape: [2], values: [1, 2])])
    bytes.removeLast()
    XCTAssertThrowsError(try SafetensorsFile(bytes: bytes, path: "w.safetensors")) { error in
      XCTAssertTrue("\(error)".contains("tensor 'w'"), "\(error)")
    }
  }

  func testGzipDecompressesShippedMNISTSample() throws {
    let path = "\(repositoryRoot)/data/mnist-sample/train-labels-idx1-ubyte.gz"
    let raw = try Gzip.decompressIfNeeded(bytes: FileBytes.read(path: path), path: path)
    XCTAssertEqual(raw.count, 8 + 5000)
    XCTAssertEqual(Array(raw[0..<4]), [0, 0, 8, 1])
    let truncated = try Array(FileBytes.read(path: path).dropLast(100))
    XCTAssertThrowsError(try Gzip.decompressIfNeeded(bytes: truncated, path: path))
  }
}
