import Foundation
import Storage
import XCTest

/// Shapes and data offsets are integers in the safetensors reference loader: `10.0` and `1e1`
/// are refused there, so here too (Foundation's decoder would read them as `Int`).
final class SafetensorsIntegerTests: XCTestCase {
  func file(_ header: String, dataBytes: Int) -> [UInt8] {
    var json = Array(header.utf8)
    json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
    let n = UInt64(json.count)
    return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + json + [UInt8](repeating: 0, count: dataBytes)
  }

  func testFractionOrExponentInShapeOrOffsetsIsRefused() throws {
    XCTAssertEqual(try SafetensorsFile(bytes: file(#"{"w":{"dtype":"F32","shape":[10],"data_offsets":[0,40]}}"#, dataBytes: 40), path: "ok").tensors["w"]?.shape, [10])
    for (header, number) in [(#"{"w":{"dtype":"F32","shape":[1e1],"data_offsets":[0,40]}}"#, "1e1"),
                             (#"{"w":{"dtype":"F32","shape":[10.0],"data_offsets":[0,40]}}"#, "10.0"),
                             (#"{"w":{"dtype":"F32","shape":[10],"data_offsets":[0,4E1]}}"#, "4E1"),
                             (#"{"__metadata__":{"a":"1.5e3 \" 2.0"},"w":{"dtype":"F32","shape":[10],"data_offsets":[0.0,40]}}"#, "0.0")] {
      XCTAssertThrowsError(try SafetensorsFile(bytes: file(header, dataBytes: 40), path: "w.safetensors"), header) { error in
        XCTAssertEqual("\(error)", "w.safetensors: header: expected integers in shape and data_offsets, found the number \(number)")
      }
    }
  }
}
