import Foundation
import XCTest

/// The common set-up of the CLI tests on a small `npy` run (`FaultBitFlipTests`,
/// `FaultPowerLossTests`, `FaultRepairAssembleTests`, `TryoutFindingsTests`): a temporary folder
/// `work`, removed after each test, holding LeNet's manifest on `samples` seeded inputs in tiles of
/// 10 samples (`FaultHarness.npyManifest`).
class NpyManifestTestCase: XCTestCase {
  /// The temporary folder of one test.
  var work = ""
  /// The manifest in it.
  var manifest = ""

  /// The folder's label (part of its name); subclasses name themselves.
  class var folderLabel: String { "npy" }
  /// Samples in the manifest's dataset.
  class var samples: Int { 30 }

  override func setUpWithError() throws {
    work = try CLIHarness.temporaryDirectory(Self.folderLabel)
    manifest = try FaultHarness.npyManifest(in: work, samples: Self.samples, tileSamples: 10)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  /// Runs the manifest into `work/base` uninterrupted and returns its assembled matrix's bytes
  /// (`work/reference.npy`): what every faulted run must end equal to.
  func referenceRun() throws -> [UInt8] {
    try CLIHarness.succeed(["run", manifest, "--run-dir", "\(work)/base", "--progress", "none"])
    return try FaultHarness.assembled("\(work)/base", output: "\(work)/reference.npy")
  }
}
