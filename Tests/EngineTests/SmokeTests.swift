import XCTest
@testable import Engine
final class EngineSmokeTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
