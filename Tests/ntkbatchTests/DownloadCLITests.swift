import Foundation
import XCTest

/// `dataset.download` through `dataset.mirror`, served by a local HTTP server on 127.0.0.1 that
/// the test starts: a file whose MD5 is not the published one is rejected, reported in one line,
/// and never installed under `dataset.root`.
final class DownloadCLITests: XCTestCase {
  func testDownloadWithAWrongChecksumIsRejectedAndNotInstalled() throws {
    let work = try CLIHarness.temporaryDirectory("download")
    defer { try? FileManager.default.removeItem(atPath: work) }
    // The shipped 5,000-digit sample is not the official 60,000-digit file: its MD5 differs.
    let served = "\(work)/served"
    try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
    for name in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"] {
      try FileManager.default.copyItem(atPath: "\(CLIHarness.repositoryRoot)/data/mnist-sample/\(name)", toPath: "\(served)/\(name)")
    }
    let (server, port) = try CLIHarness.serveFolder(served)
    defer { server.terminate(); server.waitUntilExit() }

    let root = "\(work)/mnist"
    let manifest = try CLIHarness.writeManifest([
      "name": "download",
      "dataset": ["name": "mnist", "root": root, "subsample": 10, "download": true, "mirror": "http://127.0.0.1:\(port)/"],
      "model": ["name": "logistic"], "ntk": ["tileSamples": 10],
    ], in: work)
    let result = try CLIHarness.run(["run", manifest, "--run-dir", "\(work)/run", "--progress", "none"])
    XCTAssertNotEqual(result.status, 0, result.stderr)
    XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    XCTAssertTrue(result.stderr.lowercased().contains("md5"), result.stderr)
    XCTAssertTrue(result.stderr.contains("train-images-idx3-ubyte.gz"), result.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(root)/train-images-idx3-ubyte.gz"), "a file failing its checksum was installed")
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(work)/run/journal"), "a run directory was started on bad data")
  }

  /// `check` never downloads: with `dataset.download: true` and the files absent it says that
  /// `run` downloads them, instead of suggesting to set what is set (exit 2, nothing fetched);
  /// without it, it still suggests `dataset.download: true`.
  func testCheckWithDownloadSetAndFilesMissingSaysRunDownloadsThem() throws {
    let work = try CLIHarness.temporaryDirectory("download-check")
    defer { try? FileManager.default.removeItem(atPath: work) }
    let root = "\(work)/mnist"
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    for download in [true, false] {
      let manifest = try CLIHarness.writeManifest([
        "name": "download",
        "dataset": ["name": "mnist", "root": root, "subsample": 10, "download": download],
        "model": ["name": "logistic"], "ntk": ["tileSamples": 10],
      ], in: work, name: "m-\(download)")
      let check = try CLIHarness.run(["check", manifest])
      XCTAssertEqual(check.status, 2, check.stderr)
      XCTAssertEqual(check.stderr.split(separator: "\n").count, 1, check.stderr)
      XCTAssertTrue(check.stderr.contains("\(root): dataset.root has no train-images-idx3-ubyte"), check.stderr)
      XCTAssertEqual(check.stderr.contains("or set dataset.download: true"), !download, check.stderr)
      XCTAssertEqual(check.stderr.contains("not downloaded yet: `ntkbatch run` downloads them first (dataset.download: true)"), download, check.stderr)
      XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), [], "check downloaded something")
    }
  }
}
