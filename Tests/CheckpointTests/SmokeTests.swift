import XCTest
@testable import Checkpoint
final class CheckpointSmokeTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
