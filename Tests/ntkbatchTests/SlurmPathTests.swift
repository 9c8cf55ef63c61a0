import Foundation
import XCTest

/// `ntkbatch slurm` writes the manifest and run directory into its scripts absolute and normalised
/// by the rule `generate --root` uses (`NormalisedPath`): no `.`, `..`, doubled or trailing slash;
/// symbolic links kept (it resolved them all before, unlike `generate`), except before a `..`.
final class SlurmPathTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("slurm-paths") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  /// Runs `ntkbatch arguments…` in `directory` (relative paths are taken against it).
  private func run(_ arguments: [String], in directory: String) throws -> CLIHarness.Result {
    let process = Process()
    process.executableURL = CLIHarness.binary
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    return try CLIHarness.capture(process)
  }

  func testRelativePathsWithDotsAndATrailingSlashAreWrittenNormalised() throws {
    // The child's current directory is physical (getcwd), so the expected paths start from the
    // work folder with its symbolic links (e.g. a /tmp link) resolved.
    let root = URL(fileURLWithPath: work).resolvingSymlinksInPath().path
    for folder in ["cwd/sub", "shared/x"] { try FileManager.default.createDirectory(atPath: "\(root)/\(folder)", withIntermediateDirectories: true) }
    let manifest = try CLIHarness.writeManifest([
      "name": "paths",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 20],
      "model": ["name": "lenet", "seed": 0],
      "ntk": ["precision": "float32", "tileSamples": 10],
    ], in: "\(root)/shared", name: "paths")
    XCTAssertEqual(manifest, "\(root)/shared/paths.json")
    // A symbolic link stays in the path, as generate writes it (an automounted or site-wide link
    // may be the name compute nodes know): data → ../../shared; but `data/..` is, for the system,
    // the parent of shared (the work folder), not cwd/sub.
    try FileManager.default.createSymbolicLink(atPath: "\(root)/cwd/sub/data", withDestinationPath: "../../shared")
    let result = try run(["slurm", "./data/./x/..//paths.json", "--array", "2", "--time", "1:00:00", "--run-dir", "./data/..//runs/x/../r/./"],
                         in: "\(root)/cwd/sub")
    XCTAssertEqual(result.status, 0, result.stderr)
    let runDirectory = "\(root)/runs/r"
    var scripts: [String: String] = [:]
    for name in ["shards.sbatch", "finish.sbatch", "submit.sh"] {
      scripts[name] = try String(contentsOfFile: "\(runDirectory)/slurm/\(name)", encoding: .utf8)
    }
    let shards = try XCTUnwrap(scripts["shards.sbatch"])
    XCTAssertTrue(shards.contains("#SBATCH --chdir=\(root)/cwd/sub\n"), shards)
    XCTAssertTrue(shards.contains("#SBATCH --output=\(runDirectory)/slurm/logs/shard-%a.log\n"), shards)
    XCTAssertTrue(shards.contains("\(root)/cwd/sub/data/paths.json"), shards)
    XCTAssertFalse(shards.contains("\(root)/shared/"), shards)
    XCTAssertTrue(shards.contains(runDirectory + " ") || shards.contains(runDirectory + "\n") || shards.contains(runDirectory + "'"), shards)
    let finish = try XCTUnwrap(scripts["finish.sbatch"])
    XCTAssertTrue(finish.contains("#SBATCH --output=\(runDirectory)/slurm/logs/finish.log\n"), finish)
    XCTAssertTrue(try XCTUnwrap(scripts["submit.sh"]).contains("\(runDirectory)/slurm/shards.sbatch"))
    // Every path under the work folder in every script is normalised.
    for (name, text) in scripts {
      var rest = Substring(text)
      var found = 0
      while let range = rest.range(of: root) {
        let path = rest[range.lowerBound...].prefix { !" \n'\"".contains($0) }
        found += 1
        XCTAssertFalse(path.contains("/./") || path.contains("/../") || path.contains("//") || path.hasSuffix("/") || path.hasSuffix("/.") || path.hasSuffix("/.."),
                       "\(name): \(path)")
        rest = rest[range.upperBound...]
      }
      XCTAssertGreaterThan(found, 0, name)
    }
  }
}
