import Foundation
import Storage
import TestSupport
import XCTest


final class GzipLimitTests: XCTestCase {
  func testInflatingStopsOnePastTheDeclaredSize() throws {
    // Declares 100 images (78,416 bytes with the header) but inflates to 16 MiB: a gzip bomb.
    let bomb = GzipFixture.member(GzipFixture.idxImages(count: 100, dataBytes: 16 << 20))
    XCTAssertLessThan(bomb.count, 40_000)
    XCTAssertThrowsError(try Gzip.decompress(bomb, path: "/d/train-images-idx3-ubyte.gz", limit: { $0.count >= 16 ? 16 + 100 * 784 : nil })) { error in
      let text = "\(error)"
      XCTAssertTrue(text.contains("/d/train-images-idx3-ubyte.gz"), text)
      XCTAssertTrue(text.contains("inflates past 78416 bytes"), text)
    }
    // The same stream holding exactly the declared size is read.
    let exact = GzipFixture.idxImages(count: 100, dataBytes: 100 * 784)
    XCTAssertEqual(try Gzip.decompress(GzipFixture.member(exact), path: "x.gz", limit: { $0.count >= 16 ? 16 + 100 * 784 : nil }), exact)
  }

  func testTrailingGarbageIsRefusedAndZeroPaddingAccepted() throws {
    let raw = [UInt8](repeating: 7, count: 1000)
    let member = GzipFixture.member(raw)
    XCTAssertEqual(try Gzip.decompress(member + member, path: "two.gz"), raw + raw)
    XCTAssertEqual(try Gzip.decompress(member + [0, 0, 0, 0], path: "padded.gz"), raw)
    XCTAssertThrowsError(try Gzip.decompress(member + Array("junk".utf8), path: "junk.gz")) { error in
      XCTAssertTrue("\(error)".contains("junk.gz: trailing garbage after the gzip data: 4 bytes at byte \(member.count)"), "\(error)")
    }
  }
}
