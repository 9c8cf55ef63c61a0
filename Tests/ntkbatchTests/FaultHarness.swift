import Foundation
import Storage
import XCTest

/// Shared pieces of the fault tests (`Fault*Tests`): small manifests, a process runner with a
/// timeout that reports signals, and readers of the journal's framing.
enum FaultHarness {
  /// How one `ntkbatch` invocation ended.
  struct Outcome {
    /// Exit status, or the signal number when `signaled`.
    var status: Int32
    /// Whether the process died from a signal (a crash, or our timeout's SIGKILL).
    var signaled: Bool
    /// Whether the timeout fired.
    var timedOut: Bool
    var stdout: String
    var stderr: String
    var seconds: Double
  }

  /// LeNet (seeded init) on the first `subsample` shipped MNIST digits.
  static func mnistManifest(in directory: String, name: String = "manifest", subsample: Int, tileSamples: Int,
                            seed: Int = 0, weights: String? = nil, precision: String = "float32") throws -> String {
    var model: [String: Any] = ["name": "lenet", "seed": seed]
    if let weights { model["weights"] = weights }
    return try CLIHarness.writeManifest([
      "name": "faults",
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": subsample],
      "model": model,
      "ntk": ["precision": precision, "normalization": "sqrt-params", "tileSamples": tileSamples],
    ], in: directory, name: name)
  }

  /// LeNet trained for one epoch (`model.train`) on the first `trainSamples` shipped MNIST digits,
  /// its eNTK over the first 20 in tiles of 10.
  static func mnistTrainingManifest(in directory: String, name: String, trainSamples: Int) throws -> String {
    try CLIHarness.writeManifest([
      "name": name,
      "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 20],
      "model": ["name": "lenet", "seed": 0, "train": ["epochs": 1, "samples": trainSamples]],
      "ntk": ["precision": "float32", "tileSamples": 10],
    ], in: directory, name: name)
  }

  /// LeNet on an `npy` dataset file `[samples, 3, 32, 32]` float32 of seeded values in [0, 1),
  /// written next to the manifest (fast to load: no gzip, no resize).
  static func npyManifest(in directory: String, samples: Int, tileSamples: Int, dataSeed: UInt64 = 1,
                          weights: String? = nil) throws -> String {
    let path = "\(directory)/inputs.npy"
    if !FileManager.default.fileExists(atPath: path) {
      try writeInputs(samples: samples, seed: dataSeed, to: path)
    }
    var model: [String: Any] = ["name": "lenet", "seed": 0]
    if let weights { model["weights"] = weights }
    return try CLIHarness.writeManifest([
      "name": "faults-npy",
      "dataset": ["name": "npy", "path": path],
      "model": model,
      "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": tileSamples],
    ], in: directory)
  }

  /// Writes `[samples, 3, 32, 32]` float32 values from a seeded SplitMix64 stream.
  static func writeInputs(samples: Int, seed: UInt64, to path: String) throws {
    var state = seed
    let values: [Float] = (0..<(samples * 3 * 32 * 32)).map { _ in
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      z ^= z >> 31
      return Float(z >> 40) / Float(1 << 24)
    }
    try Data(NpyArray(shape: [samples, 3, 32, 32], values: values).encoded()).write(to: URL(fileURLWithPath: path))
  }

  /// Runs `ntkbatch arguments…`, killing it with SIGKILL after `timeout` seconds.
  static func run(_ arguments: [String], timeout: Double = 60) throws -> Outcome {
    let logs = try CLIHarness.temporaryDirectory("fault-logs")
    defer { try? FileManager.default.removeItem(atPath: logs) }
    let start = Date()
    let process = try CLIHarness.start(arguments, logDirectory: logs)
    var timedOut = false
    while process.isRunning {
      if Date().timeIntervalSince(start) > timeout {
        timedOut = true
        kill(process.processIdentifier, SIGKILL)
        break
      }
      usleep(1_000)
    }
    process.waitUntilExit()
    return Outcome(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
                   timedOut: timedOut,
                   stdout: CLIHarness.log(logs, "stdout"),
                   stderr: CLIHarness.log(logs, "stderr"),
                   seconds: Date().timeIntervalSince(start))
  }

  /// Tile indices reported by `--progress tiles` (`tile INDEX (I, J) SECONDS s`).
  static func tileLines(_ stdout: String) -> [Int] {
    stdout.split(separator: "\n").compactMap { line in
      let words = line.split(separator: " ")
      return words.count >= 2 && words[0] == "tile" ? Int(words[1]) : nil
    }
  }

  /// Byte offsets and lengths of the frames `[u32 LE length][32-byte SHA-256][payload]` of a
  /// journal segment (read independently of the Checkpoint module).
  static func frames(of segment: String) throws -> [(offset: Int, length: Int)] {
    let bytes = try FileBytes.read(path: segment)
    var out: [(Int, Int)] = []
    var offset = 0
    while offset + 36 <= bytes.count {
      let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
      guard offset + 36 + length <= bytes.count else { break }
      out.append((offset, 36 + length))
      offset += 36 + length
    }
    return out
  }

  /// The journal segments of a run directory, in order.
  static func segments(of run: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: run + "/journal")
      .filter { $0.hasPrefix("segment-") && $0.hasSuffix(".log") }.sorted().map { run + "/journal/" + $0 }
  }

  /// `status --json`'s tiles: index → object hash.
  static func journaledObjects(_ run: String) throws -> [Int: String] {
    let status = try CLIHarness.succeed(["status", run, "--json"])
    guard let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any],
          let tiles = json["tiles"] as? [[String: Any]] else {
      XCTFail("status --json is not an object with tiles: \(status.stdout)")
      return [:]
    }
    var out: [Int: String] = [:]
    for tile in tiles { if let index = tile["index"] as? Int, let hash = tile["hash"] as? String { out[index] = hash } }
    return out
  }

  /// Path of object `hash` in a run directory.
  static func objectPath(_ run: String, _ hash: String) -> String {
    "\(run)/objects/\(hash.prefix(2))/\(hash.dropFirst(2))"
  }

  /// Copies a directory tree (`cp -a`).
  static func copy(_ source: String, to destination: String) throws {
    try? FileManager.default.removeItem(atPath: destination)
    try FileManager.default.copyItem(atPath: source, toPath: destination)
  }

  /// Truncates a file to `size` bytes.
  static func truncate(_ path: String, to size: Int) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    try handle.truncate(atOffset: UInt64(size))
    try handle.close()
  }

  /// Assembles `run` as float32 and returns the .npy bytes.
  static func assembled(_ run: String, output: String, file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
    try? FileManager.default.removeItem(atPath: output)
    try CLIHarness.succeed(["assemble", run, "--dtype", "float32", "--output", output], file: file, line: line)
    return try FileBytes.read(path: output)
  }
}
