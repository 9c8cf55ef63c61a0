import Checkpoint
import Foundation
import Storage
import XCTest

/// The version of the ntkbatch that wrote a result is recorded with it: in each journal session's
/// header (`ntkbatchVersion`), in `status` (text and `--json`), in an assembled Zarr array's
/// attributes (`ntkbatch.version`) and in a partial assemble's mask (`OUTPUT.missing.json`); a run
/// whose journal was written without it (an earlier version) still resumes, verifies and
/// assembles to the same bytes.
final class ToolVersionTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("tool-version") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  /// What `ntkbatch --version` prints.
  private func printedVersion() throws -> String {
    let version = try CLIHarness.succeed(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    XCTAssertFalse(version.isEmpty)
    return version
  }

  /// The JSON object of a journal segment's first frame (the header record), read from its bytes.
  private func headerRecord(_ segment: String) throws -> [String: Any] {
    let bytes = try FileBytes.read(path: segment)
    let frame = try XCTUnwrap(try FaultHarness.frames(of: segment).first)
    let payload = Array(bytes[(frame.offset + 36)..<(frame.offset + frame.length)])
    let record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
    XCTAssertEqual(record["kind"] as? String, "header")
    return try XCTUnwrap(record["header"] as? [String: Any])
  }

  private func statusJSON(_ run: String) throws -> [String: Any] {
    try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(CLIHarness.succeed(["status", run, "--json"]).stdout.utf8)) as? [String: Any])
  }

  /// Rewrites `segment` as ntkbatch 0.6.0 wrote it: the header record without `ntkbatchVersion`
  /// (`JournalRecord.payload()` of a header without it gives that build's bytes:
  /// `JournalRecordBytesTests`), the other frames as they are.
  private func removeVersion(from segment: String) throws {
    let bytes = try FileBytes.read(path: segment)
    let frames = try FaultHarness.frames(of: segment)
    guard case .header(var header) = try JournalRecord(payload: bytes[(frames[0].offset + 36)..<(frames[0].offset + frames[0].length)]) else {
      return XCTFail("the first frame of \(segment) is not a header")
    }
    XCTAssertNotNil(header.ntkbatchVersion)
    header.ntkbatchVersion = nil
    let payload = try JournalRecord.header(header).payload()
    let length = UInt32(payload.count)
    var rewritten: [UInt8] = [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)]
    rewritten += ContentHash.sha256(payload).digestBytes + payload
    rewritten += bytes[(frames[0].offset + frames[0].length)...]
    try Data(rewritten).write(to: URL(fileURLWithPath: segment))
  }

  func testTheVersionIsRecordedInTheJournalStatusZarrAttributesAndMask() throws {
    let version = try printedVersion()
    XCTAssertEqual(version, NTKBatchVersion.current)
    let manifest = try FaultHarness.npyManifest(in: work, samples: 20, tileSamples: 10)  // 3 tiles
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none", "--max-tiles", "2"])
    let segments = try FaultHarness.segments(of: run)
    XCTAssertEqual(segments.count, 1)
    XCTAssertEqual(try headerRecord(segments[0])["ntkbatchVersion"] as? String, version)

    var status = try statusJSON(run)
    XCTAssertEqual(status["ntkbatchVersions"] as? [String], [version])
    XCTAssertEqual(status["sessionsWithoutVersion"] as? Int, 0)
    let text = try CLIHarness.succeed(["status", run]).stdout
    XCTAssertTrue(text.contains("\ntool:     written by ntkbatch \(version)\n"), text)

    // A partial npy: its mask records the version (an .npy header holds only descr, fortran_order, shape).
    let partial = "\(work)/partial.npy"
    try CLIHarness.succeed(["assemble", run, "--output", partial, "--allow-partial", "--progress", "none"])
    let mask = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(FileBytes.read(path: partial + ".missing.json"))) as? [String: Any])
    XCTAssertEqual(mask["ntkbatchVersion"] as? String, version)
    XCTAssertEqual((mask["missingTiles"] as? [Any])?.count, 1)

    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    status = try statusJSON(run)
    XCTAssertEqual(status["complete"] as? Bool, true)
    XCTAssertEqual(status["ntkbatchVersions"] as? [String], [version])
    for format in [2, 3] {
      let zarr = "\(work)/kernel-v\(format).zarr"
      try CLIHarness.succeed(["assemble", run, "--output", zarr, "--format", "zarr", "--zarr-format", "\(format)", "--progress", "none"])
      let metadata = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(FileBytes.read(path: zarr + (format == 3 ? "/zarr.json" : "/.zattrs")))) as? [String: Any])
      let attributes = try XCTUnwrap(format == 3 ? metadata["attributes"] as? [String: Any] : metadata)
      let ntkbatch = try XCTUnwrap(attributes["ntkbatch"] as? [String: Any], "\(attributes)")
      XCTAssertEqual(ntkbatch["version"] as? String, version)
      XCTAssertEqual(ntkbatch["attributesVersion"] as? Int, 1)
    }
  }

  func testARunWrittenWithoutTheVersionResumesVerifiesAndAssemblesAsBefore() throws {
    let version = try printedVersion()
    let manifest = try FaultHarness.npyManifest(in: work, samples: 20, tileSamples: 10)
    let reference = "\(work)/reference"
    try CLIHarness.succeed(["run", manifest, "--run-dir", reference, "--progress", "none"])
    let expected = try FaultHarness.assembled(reference, output: "\(work)/reference.npy")

    // A run begun by 0.6.0, whose headers have no version.
    let run = "\(work)/run"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none", "--max-tiles", "2"])
    let old = try XCTUnwrap(try FaultHarness.segments(of: run).first)
    try removeVersion(from: old)
    let oldBytes = try FileBytes.read(path: old)
    XCTAssertNil(try headerRecord(old)["ntkbatchVersion"])
    XCTAssertFalse(String(decoding: oldBytes, as: UTF8.self).contains("ntkbatchVersion"))
    var status = try statusJSON(run)
    XCTAssertEqual(status["ntkbatchVersions"] as? [String], [])
    XCTAssertEqual(status["sessionsWithoutVersion"] as? Int, 1)
    XCTAssertEqual(status["tilesDone"] as? Int, 2)
    XCTAssertFalse(try CLIHarness.succeed(["status", run]).stdout.contains("tool:"))

    // Resumed by this version: the old segment as it was, the new one with the version.
    let resumed = try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    XCTAssertFalse(resumed.stderr.contains("error"), resumed.stderr)
    let segments = try FaultHarness.segments(of: run)
    XCTAssertEqual(segments.count, 2)
    XCTAssertEqual(try FileBytes.read(path: old), oldBytes)
    XCTAssertEqual(try headerRecord(segments[1])["ntkbatchVersion"] as? String, version)
    status = try statusJSON(run)
    XCTAssertEqual(status["complete"] as? Bool, true)
    XCTAssertEqual(status["ntkbatchVersions"] as? [String], [version])
    XCTAssertEqual(status["sessionsWithoutVersion"] as? Int, 1)
    let text = try CLIHarness.succeed(["status", run]).stdout
    XCTAssertTrue(text.contains("tool:     written by ntkbatch \(version) (and 1 session by an earlier version that did not record it)"), text)
    try CLIHarness.succeed(["verify", run])
    XCTAssertEqual(try FaultHarness.assembled(run, output: "\(work)/run.npy"), expected)
  }
}
