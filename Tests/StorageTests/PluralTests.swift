import XCTest
@testable import Storage

/// Counts in messages agree with their nouns: `1 tile`, `0 tiles`, `2 tiles`, never `1 tiles`.
final class PluralTests: XCTestCase {
  func testOneIsSingularEveryOtherCountPlural() {
    XCTAssertEqual(Plural.count(1, "tile"), "1 tile")
    XCTAssertEqual(Plural.count(0, "tile"), "0 tiles")
    XCTAssertEqual(Plural.count(2, "tile"), "2 tiles")
    XCTAssertEqual(Plural.count(-1, "byte"), "-1 bytes")
    XCTAssertEqual(Plural.count(1, "orphan object"), "1 orphan object")
    XCTAssertEqual(Plural.count(3, "orphan object"), "3 orphan objects")
    XCTAssertEqual(Plural.noun(1, "journaled tile"), "journaled tile")
    XCTAssertEqual(Plural.noun(5, "journaled tile"), "journaled tiles")
  }

  func testRegularPluralsAndGivenOnes() {
    XCTAssertEqual(Plural.count(2, "batch"), "2 batches")
    XCTAssertEqual(Plural.count(2, "epoch"), "2 epochs")
    XCTAssertEqual(Plural.count(2, "search"), "2 searches")
    XCTAssertEqual(Plural.count(2, "class"), "2 classes")
    XCTAssertEqual(Plural.count(2, "box"), "2 boxes")
    XCTAssertEqual(Plural.count(2, "entry"), "2 entries")
    XCTAssertEqual(Plural.count(2, "key"), "2 keys")
    XCTAssertEqual(Plural.count(2, "datum", plural: "data"), "2 data")
    XCTAssertEqual(Plural.count(1, "datum", plural: "data"), "1 datum")
  }
}
