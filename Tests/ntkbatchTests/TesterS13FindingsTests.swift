import Foundation
import Storage
import XCTest

/// The findings of fresh tester s13 (README and binary only, 0.9.1) not covered elsewhere: a run
/// directory given below an existing file (a mistyped `--run-dir MANIFEST/sub`).
final class TesterS13FindingsTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("tester-s13") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  /// #4: `--run-dir m.json/sub` said `cannot create directory: The operation could not be
  /// completed. (NSCocoaErrorDomain error 512.)` and exited 1; now it names the file in the way,
  /// exit 2 (a bad argument), and creates nothing.
  func testARunDirectoryBelowAFileIsABadPathNamingTheFile() throws {
    let manifest = try CLIHarness.writeManifest([
      "name": "s13",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 4],
      "model": ["name": "lenet"], "ntk": ["tileSamples": 2],
    ], in: work)
    let before = try Data(contentsOf: URL(fileURLWithPath: manifest))
    let result = try CLIHarness.run(["run", manifest, "--run-dir", "\(manifest)/deeper/sub", "--progress", "none"])
    XCTAssertEqual(result.status, 2, result.stderr)
    XCTAssertEqual(result.stderr, "ntkbatch: error: \(manifest)/deeper/sub: cannot create directory: \(manifest) is a file, not a directory\n")
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: manifest)), before)
  }

  /// The same rule at the Storage seam; the other failures name the folder that could not be
  /// created and why.
  func testCreateDirectoryDurablyNamesWhatIsInTheWay() throws {
    let file = "\(work)/plain"
    try Data("x".utf8).write(to: URL(fileURLWithPath: file))
    XCTAssertThrowsError(try SystemFile.createDirectoryDurably(path: "\(file)/a/b")) { error in
      XCTAssertEqual(error as? StorageError, StorageError(.destinationExists, path: "\(file)/a/b", "cannot create directory: \(file) is a file, not a directory"))
    }
    try SystemFile.createDirectoryDurably(path: "\(work)/new/nested")
    var isDirectory: ObjCBool = false
    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(work)/new/nested", isDirectory: &isDirectory) && isDirectory.boolValue)
    // A folder where none can be created: an unusable path (exit 2), naming the folder it was to
    // be created in and why (UXFindingsTests covers the command line).
    XCTAssertThrowsError(try SystemFile.createDirectoryDurably(path: "/proc/ntkbatch-test/sub")) { error in
      XCTAssertEqual(error as? StorageError, StorageError(.unusablePath, path: "/proc/ntkbatch-test/sub", "cannot create directory /proc/ntkbatch-test: /proc does not allow creating folders in it (mkdir: ENOENT; a system folder such as /proc or /sys, or removed meanwhile); choose another path"))
    }
  }
}
