import Foundation
import Storage
import XCTest

/// Findings of a fresh tester about the run directory's own state: `checksums.json` deleted or
/// garbled must not let wrong logits through, a missing or garbled `RUN/manifest.json` is named and
/// rewritten, the identity refusal names the field that matters, and memory budgets beyond the
/// machine are refused before any allocation.
final class RunStateFindingsTests: NpyManifestTestCase {
  override class var folderLabel: String { "runstate" }

  private func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

  private func edited(_ change: (inout [String: Any]) -> Void, name: String) throws -> String {
    var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifest))) as? [String: Any])
    change(&object)
    return try CLIHarness.writeManifest(object, in: work, name: name)
  }

  /// A checksum is recorded only for bytes a session computed: with `checksums.json` deleted or
  /// garbled, a logits file with a flipped (still finite) bit is computed again by `run`,
  /// rewritten, and the checksum of the computed bytes recorded; `verify` calls a garbled
  /// checksums file damage (exit 1) and notes a missing one; `repair` removes a garbled one.
  func testDeletedOrGarbledChecksumsDoNotLetFlippedLogitsThrough() throws {
    let run = "\(work)/base"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    let logits = "\(run)/logits.npy", checksums = "\(run)/checksums.json"
    let original = try FileBytes.read(path: logits)
    let recorded = try FileBytes.read(path: checksums)
    XCTAssertTrue(String(decoding: recorded, as: UTF8.self).contains(ContentHash.sha256(original).hex))
    var flipped = original
    flipped[flipped.count - 8] ^= 1  // lowest mantissa bit of the last float64: still finite
    XCTAssertTrue(try NpyArray(bytes: flipped, path: logits).doubles().allSatisfy(\.isFinite))

    for garbled in [false, true] {
      try Data(flipped).write(to: URL(fileURLWithPath: logits))
      if garbled {
        try Data("{garbage".utf8).write(to: URL(fileURLWithPath: checksums))
        let verify = try CLIHarness.run(["verify", run])
        XCTAssertEqual(verify.status, 1, verify.stdout + verify.stderr)
        XCTAssertTrue(verify.stdout.contains("DAMAGED \(run)/checksums.json: not valid JSON: expected a key in double quotes or '}', found 'g' at byte 1 (line 1, column 2)"), verify.stdout)
        XCTAssertEqual(lines(verify.stderr).count, 1, verify.stderr)
        let repair = try CLIHarness.succeed(["repair", run])
        XCTAssertTrue(repair.stdout.contains("REMOVED damaged \(run)/checksums.json"), repair.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: checksums))
      } else {
        try FileManager.default.removeItem(atPath: checksums)
      }
      let verify = try CLIHarness.succeed(["verify", run])
      XCTAssertTrue(verify.stdout.contains("MISSING \(run)/checksums.json: `ntkbatch run` writes it again"), verify.stdout)
      let resumed = try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
      XCTAssertEqual(try FileBytes.read(path: logits), original, "computed again and rewritten: \(resumed.stderr)")
      XCTAssertEqual(try FileBytes.read(path: checksums), recorded, "the checksum of the computed bytes")
      let clean = try CLIHarness.succeed(["verify", run])
      XCTAssertFalse(clean.stdout.contains("checksums.json"), clean.stdout)
    }
    // From now on a flip is caught again by the recorded checksum.
    try Data(flipped).write(to: URL(fileURLWithPath: logits))
    XCTAssertEqual(try CLIHarness.run(["verify", run]).status, 1)
  }

  /// A missing or garbled `RUN/manifest.json`: `verify` names it (DAMAGED exits 1, MISSING is
  /// noted), `repair` says how to restore it, `run` with the run's manifest rewrites it; a moved
  /// manifest cannot be compared with a garbled one, and the refusal says so.
  func testMissingOrGarbledRunManifestIsNamedAndRewrittenByRun() throws {
    let run = "\(work)/base"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none", "--max-tiles", "2"])
    let path = "\(run)/manifest.json"
    let good = try FileBytes.read(path: path)
    let renamed = try edited({ $0["name"] = "renamed" }, name: "renamed")

    try Data("{\"name\": ".utf8).write(to: URL(fileURLWithPath: path))
    let verify = try CLIHarness.run(["verify", run])
    XCTAssertEqual(verify.status, 1, verify.stdout + verify.stderr)
    XCTAssertTrue(verify.stdout.contains("DAMAGED \(path): not valid JSON"), verify.stdout)
    XCTAssertEqual(lines(verify.stderr).count, 1, verify.stderr)
    let repair = try CLIHarness.succeed(["repair", run])
    XCTAssertTrue(repair.stdout.contains("NOT REPAIRED \(path): not valid JSON"), repair.stdout)
    XCTAssertTrue(repair.stdout.contains("`ntkbatch run MANIFEST --run-dir \(run)`"), repair.stdout)
    let refused = try CLIHarness.run(["run", renamed, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(refused.status, 2, refused.stderr)
    XCTAssertTrue(refused.stderr.contains("\(path): not valid JSON"), refused.stderr)
    XCTAssertTrue(refused.stderr.contains("run once with the run's own manifest to rewrite it"), refused.stderr)
    let rewritten = try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none", "--max-tiles", "1"])
    XCTAssertTrue(rewritten.stderr.contains("\(path): not valid JSON"), rewritten.stderr)
    XCTAssertEqual(try FileBytes.read(path: path), good)
    try CLIHarness.succeed(["verify", run])

    try FileManager.default.removeItem(atPath: path)
    let missing = try CLIHarness.succeed(["verify", run])
    XCTAssertTrue(missing.stdout.contains("MISSING \(path)"), missing.stdout)
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(try FileBytes.read(path: path), good)
    // Now a moved (renamed) manifest resumes.
    let moved = try CLIHarness.succeed(["run", renamed, "--run-dir", run, "--progress", "none"])
    XCTAssertTrue(moved.stderr.contains("resuming a moved run"), moved.stderr)
  }

  /// The refusal names the first differing field that is not a location (`name` sorts first and
  /// may change); after a valid move whose data differ, only the data's hash is named.
  func testIdentityRefusalNamesTheFieldThatIsNotALocation() throws {
    let run = "\(work)/base"
    try CLIHarness.succeed(["run", manifest, "--run-dir", run, "--progress", "none", "--max-tiles", "1"])
    let other = try edited({ object in
      object["name"] = "renamed"
      var ntk = object["ntk"] as! [String: Any]
      ntk["normalization"] = "none"
      object["ntk"] = ntk
    }, name: "other")
    let refused = try CLIHarness.run(["run", other, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(refused.status, 2, refused.stderr)
    XCTAssertEqual(lines(refused.stderr).count, 1, refused.stderr)
    XCTAssertTrue(refused.stderr.contains("first differing field ntk.normalization (run has \"sqrt-params\", now \"none\")"), refused.stderr)

    // The data "moved" to a file with other values: not a move; only the input data hash is named.
    try FaultHarness.writeInputs(samples: 30, seed: 7, to: "\(work)/elsewhere.npy")
    let otherData = try edited({ object in
      var dataset = object["dataset"] as! [String: Any]
      dataset["path"] = "\(work)/elsewhere.npy"
      object["dataset"] = dataset
    }, name: "elsewhere")
    let refusedData = try CLIHarness.run(["run", otherData, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(refusedData.status, 2, refusedData.stderr)
    XCTAssertTrue(refusedData.stderr.contains("different input data hash"), refusedData.stderr)
    XCTAssertFalse(refusedData.stderr.contains("manifest hash"), refusedData.stderr)
  }

  /// `ntk.memoryBudget` above this machine's memory (MemTotal) is refused before anything is
  /// allocated (resnet18 at width 2000 would need 43 GB); a budget below a model without a width
  /// names its size in bytes and does not suggest `model.width`.
  func testMemoryBudgetBeyondTheMachineAndTinyBudgetsAreOneLineErrors() throws {
    let total = try XCTUnwrap(try String(contentsOfFile: "/proc/meminfo", encoding: .utf8).split(separator: "\n")
      .first { $0.hasPrefix("MemTotal:") }.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) }) * 1024
    let huge = try edited({ object in
      object["model"] = ["name": "resnet18", "width": 2000, "seed": 0]
      var ntk = object["ntk"] as! [String: Any]
      ntk["memoryBudget"] = 1_000_000_000_000
      object["ntk"] = ntk
    }, name: "huge")
    let run = try CLIHarness.run(["run", huge, "--run-dir", "\(work)/huge", "--progress", "none"])
    XCTAssertEqual(run.status, 2, run.stderr)
    XCTAssertEqual(lines(run.stderr), ["ntkbatch: error: \(huge): ntk.memoryBudget: 1000000000000 bytes (953674 MiB) is more than this machine's memory, \(total) bytes (\(total >> 20) MiB, MemTotal in /proc/meminfo); expected at most that, or \"auto\""])
    // check may plan for a larger node, but loads the weights here: 43 GB of them are refused.
    let check = try CLIHarness.run(["check", huge])
    XCTAssertEqual(check.status, 2, check.stderr)
    XCTAssertEqual(lines(check.stderr).count, 1, check.stderr)
    XCTAssertTrue(check.stderr.contains("model.width: resnet18 at width 2000 has P = "), check.stderr)
    XCTAssertTrue(check.stderr.contains("over this machine's memory, \(total >> 20) MiB (MemTotal), which check needs to load them"), check.stderr)
    // A budget above this machine for a model that fits it: check plans with it.
    let larger = try edited({ object in
      var ntk = object["ntk"] as! [String: Any]
      ntk["memoryBudget"] = total * 2
      object["ntk"] = ntk
    }, name: "larger")
    let planned = try CLIHarness.run(["check", larger])
    XCTAssertEqual(planned.status, 0, planned.stderr)
    XCTAssertTrue(planned.stdout.contains("budget \((total * 2 + (1 << 20) - 1) >> 20) MiB"), planned.stdout)  // rounded up, as the peak
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/huge/journal"))

    let tiny = try edited({ object in
      var ntk = object["ntk"] as! [String: Any]
      ntk["memoryBudget"] = 1
      object["ntk"] = ntk
    }, name: "tiny")
    let result = try CLIHarness.run(["check", tiny])
    XCTAssertEqual(result.status, 2, result.stderr)
    // LeNet: P = 62,006 float32 parameters, its state the same: 2 · 4 · 62,006 bytes.
    XCTAssertEqual(lines(result.stderr), ["ntkbatch: error: \(tiny): ntk.memoryBudget: 1 byte is below what lenet (P = 62006 parameters) needs for its weights and one gradient, 496048 bytes; raise ntk.memoryBudget (or \"auto\") or use a smaller model"])
  }
}
