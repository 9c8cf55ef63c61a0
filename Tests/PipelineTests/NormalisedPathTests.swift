import Foundation
import Pipeline
import Storage
import XCTest

/// `NormalisedPath.absolute`, the one rule for paths `generate` and `slurm` write for later processes.
final class NormalisedPathTests: XCTestCase {
  func testPathsAreMadeAbsoluteAndNormalisedLexically() {
    let cases: [(path: String, directory: String, expected: String)] = [
      ("data1", "/nonexistent-ntkbatch/w", "/nonexistent-ntkbatch/w/data1"),
      ("./data1/", "/nonexistent-ntkbatch/w", "/nonexistent-ntkbatch/w/data1"),
      ("w/../data1/", "/nonexistent-ntkbatch", "/nonexistent-ntkbatch/data1"),
      ("./a/./b//c/../d/", "/nonexistent-ntkbatch", "/nonexistent-ntkbatch/a/b/d"),
      ("../../runs/r/./", "/nonexistent-ntkbatch/me/w/sub", "/nonexistent-ntkbatch/me/runs/r"),
      ("/nonexistent-ntkbatch//p/./q/../r/", "/ignored", "/nonexistent-ntkbatch/p/r"),
      ("../../../..", "/a/b", "/"),
      ("/", "/a", "/"),
      (".", "/nonexistent-ntkbatch/b/", "/nonexistent-ntkbatch/b"),
    ]
    for (path, directory, expected) in cases {
      XCTAssertEqual(NormalisedPath.absolute(path, in: directory), expected, "\(path) in \(directory)")
    }
  }

  /// A symbolic link is kept, unless `..` follows it: then the path names the parent of the
  /// link's target, as the system reads it (`open("link/../x")`).
  func testASymbolicLinkIsKeptUnlessDotDotFollowsIt() throws {
    let work = URL(fileURLWithPath: NSTemporaryDirectory() + "ntkbatch-normalised-\(UUID().uuidString)").resolvingSymlinksInPath().path
    defer { try? FileManager.default.removeItem(atPath: work) }
    try FileManager.default.createDirectory(atPath: "\(work)/deep/target/x", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: "\(work)/w", withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: "\(work)/w/link", withDestinationPath: "../deep/target")
    XCTAssertEqual(NormalisedPath.absolute("link/./x/", in: "\(work)/w"), "\(work)/w/link/x")
    XCTAssertEqual(NormalisedPath.absolute("link/x/../x", in: "\(work)/w"), "\(work)/w/link/x")
    XCTAssertEqual(NormalisedPath.absolute("link/../sibling/", in: "\(work)/w"), "\(work)/deep/sibling")
    XCTAssertEqual(NormalisedPath.absolute("link/x/../../", in: "\(work)/w"), "\(work)/deep")
    // What the system opens through the path given is what the normalised path names.
    try Data("s".utf8).write(to: URL(fileURLWithPath: "\(work)/deep/s.txt"))
    XCTAssertEqual(NormalisedPath.absolute("./link/..//s.txt", in: "\(work)/w"), "\(work)/deep/s.txt")
    XCTAssertEqual(FileManager.default.contents(atPath: "\(work)/w/link/../s.txt"), Data("s".utf8))
  }
}
