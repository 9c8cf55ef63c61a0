import Engine
import Foundation
import XCTest

/// Paths of the repository's test data, located from this file (…/Tests/TestSupport/…).
public enum TestPaths {
  public static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  public static let fixtures = tests.appendingPathComponent("Fixtures")
  public static let repository = tests.deletingLastPathComponent()

  /// The path of a fixture file; fails the test (does not skip) if it is missing.
  public static func fixture(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let path = fixtures.appendingPathComponent(relative).path
    guard FileManager.default.fileExists(atPath: path) else {
      XCTFail("missing fixture \(path)", file: file, line: line)
      throw EngineError(.stateMismatch, "missing fixture \(path)")
    }
    return path
  }
}

/// The largest `|a[i] − b[i]|`.
public func maxAbsoluteDifference(_ a: [Double], _ b: [Double]) -> Double {
  zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
