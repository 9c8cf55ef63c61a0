import Foundation
import XCTest
import Engine
import TestSupport

/// Manifest fuzzing through the binary: 1,200 seeded mutations of valid manifests (wrong types,
/// missing and unknown fields, huge numbers, negative sizes, unknown models and datasets, bad
/// paths, invalid UTF-8, truncation, deep nesting, byte flips) checked with `ntkbatch check`, and
/// 60 more started with `ntkbatch run --max-tiles 1`. Each ends with exit 2 and exactly one line
/// on stderr, or (still valid) exit 0 — never a signal, never longer than 20 s.
final class FaultManifestFuzzTests: XCTestCase {
  var work = ""

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("fuzz") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  func bases() throws -> [[String: Any]] {
    if !FileManager.default.fileExists(atPath: "\(work)/lenet.safetensors") {
      try FaultHarness.writeInputs(samples: 12, seed: 3, to: "\(work)/inputs.npy")
      try FileManager.default.copyItem(atPath: "\(CLIHarness.fixtures)/lenet-w0/weights.safetensors", toPath: "\(work)/lenet.safetensors")
    }
    return [
      ["name": "fuzz", "dataset": ["name": "mnist", "root": "\(CLIHarness.repositoryRoot)/data/mnist-sample", "subsample": 12],
       "model": ["name": "lenet", "width": 64, "seed": 0], "ntk": ["precision": "float32", "normalization": "sqrt-params", "tileSamples": 6]],
      ["name": "fuzz-npy", "dataset": ["name": "npy", "path": "inputs.npy"],
       "model": ["name": "twolayer", "seed": 3], "ntk": ["precision": "float64", "normalization": "none", "tileSamples": 5]],
      ["name": "fuzz-weights", "dataset": ["name": "npy", "path": "\(work)/inputs.npy", "subsample": 4],
       "model": ["name": "lenet", "weights": "lenet.safetensors"], "ntk": ["precision": "float32", "tileSamples": 2]],
    ]
  }

  /// Values of every wrong kind.
  func strangeValue(_ g: inout SplitMix64) -> Any {
    let choices: [Any] = [
      NSNull(), true, false, 0, -1, -7, 1, 3, Int.max, Int.min, Int(Int32.max) + 1, 1e300, -1e300, 0.5, Double.leastNonzeroMagnitude, 12.0,
      "", "lenet", "resnet1000", "float16", "sqrt", "../../../../etc/passwd", "/dev/null", "/", "\u{0}", "\u{FFFF}",
      String(repeating: "x", count: 5000), "mnist", "npy", "cifar10", "none", "sqrt-params",
      [] as [Any], [1, 2, 3], ["a": 1], ["name": "lenet"], [[[]]] as [Any],
    ]
    return choices[g.below(choices.count)]
  }

  func paths(_ object: Any, prefix: [String] = []) -> [[String]] {
    guard let dictionary = object as? [String: Any] else { return [] }
    return dictionary.keys.sorted().flatMap { key in [prefix + [key]] + paths(dictionary[key]!, prefix: prefix + [key]) }
  }

  func setting(_ object: Any, _ path: ArraySlice<String>, _ value: Any?) -> Any {
    guard let key = path.first, var dictionary = object as? [String: Any] else { return value ?? NSNull() }
    if path.count == 1 {
      dictionary[key] = value
    } else if let inner = dictionary[key] {
      dictionary[key] = setting(inner, path.dropFirst(), value)
    }
    return dictionary
  }

  /// One mutated manifest, as bytes.
  func mutate(_ base: [String: Any], _ g: inout SplitMix64) throws -> [UInt8] {
    var object: Any = base
    let fields = paths(base)
    let rounds = 1 + g.below(3)
    for _ in 0..<rounds {
      let path = fields[g.below(fields.count)]
      switch g.below(10) {
      case 0, 1: object = setting(object, path[...], strangeValue(&g))  // wrong type or value
      case 2: object = setting(object, path[...], nil)  // missing field
      case 3: object = setting(object, (Array(path.dropLast()) + ["unknown\(g.below(9))"])[...], strangeValue(&g))
      case 4: object = setting(object, path[...], [Int.max, -Int.max, 1 << 40, -(1 << 20), 0][g.below(5)])  // huge, negative
      case 5: object = setting(object, ["model", "name"], ["resnet1000", "", "LENET", "lenet ", "mlp"][g.below(5)])
      case 6:
        let bad = ["/nonexistent/x", "", ".", "/dev/null", "/proc/self/mem", "\(work)", "inputs.npy/x",
                   "\(CLIHarness.fixtures)/lenet-w0/logits.npy", "\(CLIHarness.fixtures)/lenet-w0/ntk.npy",
                   "\(CLIHarness.fixtures)/twolayer-w0/weights.safetensors", "\(CLIHarness.fixtures)/lenet-w0/meta.json"]
        let target = [["dataset", "root"], ["dataset", "path"], ["model", "weights"]][g.below(3)]
        object = setting(object, target[...], bad[g.below(bad.count)])
      case 7: object = setting(object, ["dataset", "subsample"], [0, -3, 5001, 100_000, 1 << 62, 1][g.below(6)])
      case 8: object = setting(object, ["ntk", "tileSamples"], [0, -1, 1, 1 << 31, 100_000_000, 13][g.below(6)])
      default: object = setting(object, path[...], g.below(2) == 0 ? 7 : "seven")
      }
    }
    var bytes = [UInt8](try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    switch g.below(8) {
    case 0 where !bytes.isEmpty: bytes = Array(bytes.prefix(g.below(bytes.count)))  // truncation
    case 1 where !bytes.isEmpty:  // invalid UTF-8
      let invalid: [[UInt8]] = [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x80]]
      bytes.insert(contentsOf: invalid[g.below(invalid.count)], at: g.below(bytes.count))
    case 2:  // deep nesting
      let depth = [10, 600, 5_000, 200_000][g.below(4)]
      let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
      let text = String(decoding: bytes, as: UTF8.self)
      bytes = Array(text.replacingOccurrences(of: "\"seed\":", with: "\"seed\":\(nested),\"x\":").utf8)
      if g.below(2) == 0 { bytes = Array((String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth)).utf8) }
    case 3 where !bytes.isEmpty:  // byte flips
      for _ in 0..<(1 + g.below(4)) { bytes[g.below(bytes.count)] ^= UInt8(1 << g.below(8)) }
    default: break
    }
    return bytes
  }

  struct Failure: CustomStringConvertible {
    var manifest: String
    var problem: String
    var description: String { "\(manifest): \(problem)" }
  }

  /// Runs every manifest through `command` (2 at a time) and returns what went wrong.
  func exercise(_ manifests: [String], command: @escaping (String, Int) -> [String], expectOnValid: String) -> ([Failure], Int) {
    let lock = NSLock()
    var failures: [Failure] = []
    var valid = 0
    var samples: [String: String] = [:]
    DispatchQueue.concurrentPerform(iterations: manifests.count) { k in
      let path = manifests[k]
      var problem: String?
      do {
        let outcome = try FaultHarness.run(command(path, k), timeout: 20)
        if outcome.timedOut {
          problem = "hung (killed after 20 s)"
        } else if outcome.signaled {
          problem = "crashed with signal \(outcome.status): \(outcome.stderr.suffix(300))"
        } else if outcome.status == 0 {
          if !expectOnValid.isEmpty, !outcome.stdout.contains(expectOnValid) { problem = "exit 0 without \(expectOnValid): \(outcome.stdout)" }
          lock.lock(); valid += 1; lock.unlock()
        } else if outcome.status != 2 {
          problem = "exit \(outcome.status), expected 2: \(outcome.stderr)"
        } else {
          let lines = outcome.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
          if lines.count != 1 { problem = "\(lines.count) lines on stderr: \(outcome.stderr.prefix(600))" }
          else if !(lines[0].hasPrefix("ntkbatch: error: ") || lines[0].hasPrefix("Error: ")) { problem = "unexpected error line: \(lines[0])" }
          else {
            // One example per kind of message (its first words after the file name), for the log.
            let words = lines[0].components(separatedBy: path + ": ").last.map { String($0.prefix(24)) } ?? ""
            lock.lock(); samples[words] = samples[words] ?? String(lines[0].prefix(200)); lock.unlock()
          }
        }
      } catch {
        problem = "could not run: \(error)"
      }
      if let problem { lock.lock(); failures.append(Failure(manifest: path, problem: problem)); lock.unlock() }
    }
    print("\(samples.count) kinds of error, e.g.:\n" + samples.values.sorted().prefix(12).joined(separator: "\n"))
    return (failures, valid)
  }

  func write(_ count: Int, seed: UInt64, prefix: String) throws -> [String] {
    let bases = try bases()
    var g = SplitMix64(seed: seed)
    return try (0..<count).map { k in
      let path = "\(work)/\(prefix)-\(k).json"
      try Data(mutate(bases[k % bases.count], &g)).write(to: URL(fileURLWithPath: path))
      return path
    }
  }

  func testTwelveHundredMutatedManifestsThroughCheckEndInOneLineOrAValidPlan() throws {
    let manifests = try write(1_200, seed: 6, prefix: "check")
    let start = Date()
    let (failures, valid) = exercise(manifests, command: { path, _ in ["check", path] }, expectOnValid: "is valid")
    XCTAssertTrue(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(5).map(\.description).joined(separator: "\n"))")
    XCTAssertGreaterThan(valid, 10, "some mutations keep the manifest valid")
    XCTAssertLessThan(valid, 600, "most mutations must be rejected")
    print("fuzzed 1200 manifests through check in \(Int(Date().timeIntervalSince(start))) s: \(valid) valid")
  }

  func testSixtyMutatedManifestsThroughRunEndInOneLineOrAStart() throws {
    var manifests = try write(60, seed: 60, prefix: "run")
    // The unmutated bases too, so that valid manifests really start and journal a tile.
    for (k, base) in try bases().enumerated() {
      manifests.append(try CLIHarness.writeManifest(base, in: work, name: "base-\(k)"))
    }
    let (failures, valid) = exercise(manifests, command: { path, k in
      ["run", path, "--run-dir", "\(self.work)/run-\(k)", "--progress", "none", "--max-tiles", "1"]
    }, expectOnValid: "")
    XCTAssertGreaterThanOrEqual(valid, 3)
    XCTAssertTrue(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(5).map(\.description).joined(separator: "\n"))")
  }
}
