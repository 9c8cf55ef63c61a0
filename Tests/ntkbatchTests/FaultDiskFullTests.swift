import Foundation
import Storage
import XCTest

/// Full disk: a run on a 2 MiB tmpfs (mounted by the test; CI runs as root — if the mount fails
/// the test fails) stops with one ENOSPC line and exit 1, keeps every journaled tile intact, and
/// after the file system is grown completes without recomputing them, byte-identical to a
/// reference run.
final class FaultDiskFullTests: XCTestCase {
  func mount(_ arguments: [String]) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/mount")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardError = pipe
    process.standardOutput = pipe
    try process.run()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
  }

  func testRunOnAFullDiskStopsCleanlyAndCompletesAfterSpaceIsFreed() throws {
    let work = try CLIHarness.temporaryDirectory("disk-full")
    defer { try? FileManager.default.removeItem(atPath: work) }
    let disk = "\(work)/disk"
    try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
    XCTAssertEqual(getuid(), 0, "the full-disk test mounts a tmpfs and must run as root (as CI does)")
    let (status, output) = try mount(["-t", "tmpfs", "-o", "size=2m", "tmpfs", disk])
    guard status == 0 else { return XCTFail("mount -t tmpfs failed (\(status)): \(output)") }
    defer {
      let umount = Process()
      umount.executableURL = URL(fileURLWithPath: "/bin/umount")
      umount.arguments = [disk]
      try? umount.run()
      umount.waitUntilExit()
    }

    // LeNet on 150 samples in tiles of 10: 120 tiles of 40 KB raw (~4.8 MB), more than 2 MiB.
    let manifest = try FaultHarness.npyManifest(in: work, samples: 150, tileSamples: 10)
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/reference", "--progress", "none"])
    let reference = try FaultHarness.assembled("\(work)/reference", output: "\(work)/reference.npy")

    let full = try FaultHarness.run(["run", manifest, "--run-dir", "\(disk)/run", "--progress", "none"], timeout: 120)
    XCTAssertFalse(full.signaled, full.stderr)
    XCTAssertEqual(full.status, 1, full.stderr)
    let lines = full.stderr.split(separator: "\n")
    XCTAssertEqual(lines.count, 1, full.stderr)
    XCTAssertTrue(full.stderr.hasPrefix("ntkbatch: error: "), full.stderr)
    XCTAssertTrue(full.stderr.contains("ENOSPC"), full.stderr)
    XCTAssertTrue(full.stderr.contains("\(disk)/run"), full.stderr)

    let kept = try FaultHarness.journaledObjects("\(disk)/run")
    XCTAssertGreaterThan(kept.count, 5, "some tiles fit before the disk was full")
    XCTAssertLessThan(kept.count, 120)
    let verify = try CLIHarness.succeed(["verify", "\(disk)/run"])
    XCTAssertTrue(verify.stdout.contains("\(kept.count) of \(kept.count) journaled tiles intact"), verify.stdout)

    // A second attempt on the still-full disk fails the same way and loses nothing.
    let again = try FaultHarness.run(["run", manifest, "--run-dir", "\(disk)/run", "--progress", "none"], timeout: 120)
    XCTAssertEqual(again.status, 1, again.stderr)
    XCTAssertTrue(again.stderr.contains("ENOSPC"), again.stderr)
    XCTAssertGreaterThanOrEqual(try FaultHarness.journaledObjects("\(disk)/run").count, kept.count)
    let keptAgain = try FaultHarness.journaledObjects("\(disk)/run")

    let (grown, grownOutput) = try mount(["-o", "remount,size=64m", disk])
    XCTAssertEqual(grown, 0, grownOutput)
    let resumed = try FaultHarness.run(["run", manifest, "--run-dir", "\(disk)/run", "--progress", "tiles"], timeout: 300)
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    let recomputed = FaultHarness.tileLines(resumed.stdout)
    XCTAssertTrue(Set(recomputed).isDisjoint(with: keptAgain.keys), "a tile journaled before the disk filled was computed again")
    XCTAssertEqual(Set(recomputed).union(keptAgain.keys), Set(0..<120))
    try CLIHarness.succeed(["verify", "\(disk)/run"])
    XCTAssertTrue(try FaultHarness.assembled("\(disk)/run", output: "\(work)/resumed.npy") == reference)
  }
}
