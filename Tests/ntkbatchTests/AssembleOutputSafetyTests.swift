import Foundation
import Storage
import XCTest

/// A fresh tester's findings on `assemble`'s output safety: a Zarr output, its mask
/// `OUTPUT.missing.json`, an output of a reset run directory, a path containing the run, a
/// directory or a symbolic link where a file goes. Each refusal is one line naming the path and
/// `--overwrite`, exit 2, before any work, nothing damaged.
final class AssembleOutputSafetyTests: XCTestCase {
  var work = ""
  var manifest = ""

  override func setUpWithError() throws {
    work = try CLIHarness.temporaryDirectory("output-safety")
    // LeNet on 12 samples in tiles of 6: 3 tiles.
    manifest = try FaultHarness.npyManifest(in: work, samples: 12, tileSamples: 6)
    try FileManager.default.createDirectory(atPath: "\(work)/out", withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  private func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

  private func makeRun(_ name: String = "run", manifest: String? = nil, extra: [String] = []) throws -> String {
    let run = "\(work)/\(name)"
    try CLIHarness.succeed(["run", manifest ?? self.manifest, "--run-dir", run, "--progress", "none"] + extra)
    return run
  }


  /// `assemble` refused with exit 2, one line naming `path` and `--overwrite` (when `overwrite`).
  private func assertRefused(_ arguments: [String], naming path: String, saying words: String,
                             file: StaticString = #filePath, line: UInt = #line) throws {
    let result = try CLIHarness.run(arguments + ["--progress", "none"])
    XCTAssertEqual(result.status, 2, "\(arguments): \(result.stdout) \(result.stderr)", file: file, line: line)
    XCTAssertEqual(lines(result.stderr).count, 1, result.stderr, file: file, line: line)
    XCTAssertTrue(result.stderr.hasPrefix("ntkbatch: error: \(path): "), result.stderr, file: file, line: line)
    XCTAssertTrue(result.stderr.contains(words), result.stderr, file: file, line: line)
  }

  // MARK: 1. Zarr outputs: recorded and unchanged, else --overwrite

  func testZarrOutputIsReplacedOnlyWhenRecordedByThisRunAndUnchanged() throws {
    let run = try makeRun()
    for version in ["3", "2"] {
      let z = "\(work)/out/z\(version).zarr"
      try CLIHarness.succeed(["assemble", run, "--output", z, "--zarr-format", version, "--progress", "none"])
      try CLIHarness.succeed(["assemble", run, "--output", z, "--zarr-format", version, "--progress", "none"])  // ours: replaced
      // A file the user added: refused, kept.
      try CLIHarness.writeText("my notes", to: z + "/NOTES.txt")
      let before = try CLIHarness.fileTree(z)
      try assertRefused(["assemble", run, "--output", z, "--zarr-format", version], naming: z, saying: "(--overwrite replaces it)")
      XCTAssertEqual(try CLIHarness.fileTree(z), before)
      try FileManager.default.removeItem(atPath: z + "/NOTES.txt")
      try CLIHarness.succeed(["assemble", run, "--output", z, "--zarr-format", version, "--progress", "none"])
      // A hand-edited chunk: refused, kept.
      let chunk = version == "3" ? z + "/c/0/0" : z + "/0/0"
      var bytes = try FileBytes.read(path: chunk)
      bytes[bytes.count - 1] ^= 1
      try Data(bytes).write(to: URL(fileURLWithPath: chunk))
      let edited = try CLIHarness.fileTree(z)
      try assertRefused(["assemble", run, "--output", z, "--zarr-format", version], naming: z, saying: "--overwrite")
      XCTAssertEqual(try CLIHarness.fileTree(z), edited)
      try CLIHarness.succeed(["assemble", run, "--output", z, "--zarr-format", version, "--overwrite", "--progress", "none"])
      XCTAssertNotEqual(try FileBytes.read(path: chunk), bytes)
    }
    // Another run's Zarr: refused.
    let other = try makeRun("other")
    let z3 = "\(work)/out/z3.zarr"
    let before = try CLIHarness.fileTree(z3)
    try assertRefused(["assemble", other, "--output", z3], naming: z3, saying: "not an output of this run recorded in \(other)/outputs.json")
    XCTAssertEqual(try CLIHarness.fileTree(z3), before)
    // A user's array whose .zattrs merely holds an "ntkbatch" object: refused.
    let user = "\(work)/out/user.zarr"
    try CLIHarness.writeText(#"{"zarr_format": 2, "shape": [2], "dtype": "<f4", "chunks": [2]}"#, to: user + "/.zarray")
    try CLIHarness.writeText(#"{"ntkbatch": {}}"#, to: user + "/.zattrs")
    try CLIHarness.writeText("data", to: user + "/0")
    let userBefore = try CLIHarness.fileTree(user)
    try assertRefused(["assemble", run, "--output", user], naming: user, saying: "--overwrite")
    XCTAssertEqual(try CLIHarness.fileTree(user), userBefore)
  }

  // MARK: 2, 7. The mask OUTPUT.missing.json: only ours is removed or replaced

  func testOnlyOurMaskIsRemovedOrReplacedAndNoMaskWhenNothingIsMissing() throws {
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none", "--max-tiles", "1"])
    // A user's file named like a mask: --allow-partial refuses, nothing written.
    let w = "\(work)/out/w.npy"
    try CLIHarness.writeText("my list of missing things", to: w + ".missing.json")
    try assertRefused(["assemble", run, "--allow-partial", "--output", w], naming: w + ".missing.json", saying: "(--overwrite replaces it)")
    XCTAssertFalse(FileManager.default.fileExists(atPath: w))
    XCTAssertEqual(try String(contentsOfFile: w + ".missing.json", encoding: .utf8), "my list of missing things")
    // Our partial output and mask; replaced again by --allow-partial without --overwrite.
    let g = "\(work)/out/g.npy"
    try CLIHarness.succeed(["assemble", run, "--allow-partial", "--output", g, "--progress", "none"])
    try CLIHarness.succeed(["assemble", run, "--allow-partial", "--output", g, "--progress", "none"])
    XCTAssertTrue(FileManager.default.fileExists(atPath: g + ".missing.json"))
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    // A complete assemble leaves the user's file (and says so) …
    let complete = try CLIHarness.succeed(["assemble", run, "--output", w, "--progress", "none"])
    XCTAssertTrue(complete.stdout.contains("left \(w).missing.json: not the mask of an assemble of this run"), complete.stdout)
    XCTAssertFalse(complete.stdout.contains("removed"), complete.stdout)
    XCTAssertEqual(try String(contentsOfFile: w + ".missing.json", encoding: .utf8), "my list of missing things")
    // … and --allow-partial with nothing missing writes no mask, removing ours.
    let none = try CLIHarness.succeed(["assemble", run, "--allow-partial", "--output", g, "--progress", "none"])
    XCTAssertTrue(none.stdout.contains("no tiles missing: no mask written"), none.stdout)
    XCTAssertTrue(none.stdout.contains("removed \(g).missing.json of an earlier partial assemble"), none.stdout)
    XCTAssertFalse(FileManager.default.fileExists(atPath: g + ".missing.json"))
  }

  // MARK: 3. A reset run directory owns none of its old outputs

  func testAResetRunDirectoryDoesNotInheritItsOutputs() throws {
    let ref = try makeRun("ref")
    let output = "\(work)/out/refonly.npy"
    try CLIHarness.succeed(["assemble", ref, "--output", output, "--progress", "none"])
    let reference = try FileBytes.read(path: output)
    let z = "\(work)/z"
    try FileManager.default.copyItem(atPath: ref, toPath: z)
    for name in ["journal", "objects"] { try FileManager.default.removeItem(atPath: "\(z)/\(name)") }
    let otherManifest = try FaultHarness.npyManifest(in: work, samples: 12, tileSamples: 4)  // another computation
    try CLIHarness.succeed(["run", otherManifest, "--run-dir", z, "--progress", "none"])
    try assertRefused(["assemble", z, "--output", output], naming: output, saying: "not an output of this run recorded in \(z)/outputs.json")
    XCTAssertEqual(try FileBytes.read(path: output), reference)
  }

  /// A copy of a run directory (`cp -a`: the same identity, the same `outputs.json`) owns none of
  /// the original's outputs: its partial assemble does not replace the original's complete
  /// matrix without `--overwrite`. The original still replaces its own, and so does a renamed one.
  func testACopiedRunDirectoryDoesNotOwnTheOriginalsOutputs() throws {
    let ref = try makeRun("orig")
    let output = "\(work)/out/orig.npy"
    try CLIHarness.succeed(["assemble", ref, "--output", output, "--progress", "none"])
    let complete = try FileBytes.read(path: output)
    let copy = "\(work)/copy"
    let cp = Process()
    cp.executableURL = URL(fileURLWithPath: "/bin/cp")
    cp.arguments = ["-a", ref, copy]
    try cp.run()
    cp.waitUntilExit()
    XCTAssertEqual(cp.terminationStatus, 0)
    XCTAssertEqual(try FileBytes.read(path: "\(copy)/outputs.json"), try FileBytes.read(path: "\(ref)/outputs.json"))
    // The scratch copy loses a tile, then assembles a partial matrix over the original's output.
    let lost = try XCTUnwrap(FaultHarness.journaledObjects(copy)[1])
    try FileManager.default.removeItem(atPath: FaultHarness.objectPath(copy, lost))
    try CLIHarness.succeed(["repair", copy])
    try assertRefused(["assemble", copy, "--output", output, "--allow-partial"], naming: output,
                      saying: "not an output of this run recorded in \(copy)/outputs.json")
    XCTAssertEqual(try FileBytes.read(path: output), complete)
    // The original and the original renamed on the same file system keep owning it.
    try CLIHarness.succeed(["assemble", ref, "--output", output, "--progress", "none"])
    let renamed = "\(work)/renamed"
    try FileManager.default.moveItem(atPath: ref, toPath: renamed)
    try CLIHarness.succeed(["assemble", renamed, "--output", output, "--progress", "none"])
    XCTAssertEqual(try FileBytes.read(path: output), complete)
  }

  // MARK: 4, 5, 6. Paths that hold the run, a directory where a file goes, symbolic links

  func testOutputsContainingTheRunDirectoriesAndLinksAreRefusedUpFront() throws {
    // The run at sb/inner/r: an output sb would delete it, also with --overwrite.
    try FileManager.default.createDirectory(atPath: "\(work)/sb/inner", withIntermediateDirectories: true)
    let run = try makeRun("sb/inner/r")
    for overwrite in [[], ["--overwrite"]] {
      try assertRefused(["assemble", run, "--output", "\(work)/sb", "--format", "zarr"] + overwrite, naming: "\(work)/sb", saying: "contains the run directory")
    }
    try CLIHarness.succeed(["verify", run])

    // A directory named like a .npy, with --overwrite: refused before any work.
    let d = "\(work)/out/d.npy"
    try CLIHarness.writeText("x", to: d + "/inside")
    try assertRefused(["assemble", run, "--overwrite", "--output", d], naming: d, saying: "is a directory")
    XCTAssertEqual(try CLIHarness.fileTree(d), ["inside": Array("x".utf8)])
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(work)/out").sorted(), ["d.npy"], "no temporary left")
    let wd = "\(work)/out/wd.safetensors"
    try FileManager.default.createDirectory(atPath: wd, withIntermediateDirectories: true)
    let export = try CLIHarness.run(["export-weights", run, "--overwrite", "--output", wd])
    XCTAssertEqual(export.status, 2, export.stderr)
    XCTAssertEqual(lines(export.stderr), ["ntkbatch: error: \(wd): exists and is a directory, not a file; not replaced (also not with --overwrite)"])

    // A symbolic link to a recorded output: refused (with or without --overwrite), link and target kept.
    let g = "\(work)/out/g.npy"
    try CLIHarness.succeed(["assemble", run, "--output", g, "--progress", "none"])
    let link = "\(work)/out/link.npy"
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: g)
    for overwrite in [[], ["--overwrite"]] {
      try assertRefused(["assemble", run, "--output", link] + overwrite, naming: link, saying: "is a symbolic link (to \(g))")
    }
    XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), g)
  }

  // MARK: 8. outputsPerSample and valuesPerSample agree between the mask and the Zarr attributes

  func testTraceMaskAndZarrAttributesNameOutputsAndValuesPerSampleAlike() throws {
    let trace = try CLIHarness.writeManifest([
      "name": "trace",
      "dataset": ["name": "npy", "path": "\(work)/inputs.npy"],
      "model": ["name": "lenet", "seed": 0],
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 6, "kernel": "trace"],
    ], in: work, name: "trace")
    let run = "\(work)/trace"
    try CLIHarness.succeed(["run", trace, "--run-dir", run, "--progress", "none", "--max-tiles", "1"])
    let z = "\(work)/out/t.zarr"
    try CLIHarness.succeed(["assemble", run, "--allow-partial", "--output", z, "--progress", "none"])
    let mask = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(FileBytes.read(path: z + ".missing.json"))) as? [String: Any])
    let metadata = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(FileBytes.read(path: z + "/zarr.json"))) as? [String: Any])
    let attributes = try XCTUnwrap(metadata["attributes"] as? [String: Any])
    XCTAssertEqual(mask["outputsPerSample"] as? Int, 10)
    XCTAssertEqual(attributes["outputsPerSample"] as? Int, 10)
    XCTAssertEqual(mask["valuesPerSample"] as? Int, 1)
    XCTAssertEqual(attributes["valuesPerSample"] as? Int, 1)
    XCTAssertEqual(mask["dimension"] as? Int, 12)
    let tiles = try XCTUnwrap(mask["missingTiles"] as? [[String: Any]])
    XCTAssertEqual(tiles.count, 2)
    XCTAssertEqual((tiles.last?["matrix"] as? [String: [Int]])?["rows"], [6, 12], "matrix ranges in values per sample (1)")
  }
}
