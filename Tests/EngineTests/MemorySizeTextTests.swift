import Engine
import XCTest

/// `MemorySizeText`: a need is printed rounded up, a limit rounded down, bytes below 1 MiB.
final class MemorySizeTextTests: XCTestCase {
  func testNeedsRoundUpLimitsRoundDownAndSmallSizesAreBytes() {
    let mib = 1 << 20
    XCTAssertEqual(MemorySizeText.need(70 * mib), "70 MiB")
    XCTAssertEqual(MemorySizeText.limit(70 * mib), "70 MiB")
    XCTAssertEqual(MemorySizeText.need(70 * mib + 1), "71 MiB")
    XCTAssertEqual(MemorySizeText.limit(71 * mib - 1), "70 MiB")
    XCTAssertEqual(MemorySizeText.need(250_000), "250000 bytes")
    XCTAssertEqual(MemorySizeText.need(1), "1 byte")
    XCTAssertEqual(MemorySizeText.limit(1), "1 byte")
    XCTAssertEqual(MemorySizeText.limit(mib - 1), "1048575 bytes")
    XCTAssertEqual(MemorySizeText.need(mib), "1 MiB")
    XCTAssertEqual(MemorySizeText.mebibytesRoundedUp(2 * mib + 1), 3)
    // A need over a limit is always printed as the larger number.
    for (need, limit) in [(70 * mib + 1, 70 * mib), (70 * mib + 2, 70 * mib + 1), (71 * mib, 71 * mib - 1), (3 * mib, 2 * mib + 5)] {
      let printedNeed = Int(MemorySizeText.need(need).split(separator: " ")[0])!
      let printedLimit = Int(MemorySizeText.limit(limit).split(separator: " ")[0])!
      XCTAssertGreaterThan(printedNeed, printedLimit, "\(need) over \(limit)")
    }
  }
}
