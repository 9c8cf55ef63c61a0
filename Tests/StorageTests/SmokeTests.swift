import XCTest
@testable import Storage
final class StorageSmokeTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
