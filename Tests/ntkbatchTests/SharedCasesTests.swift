import Foundation
import Storage
import XCTest

/// The shared bad-input cases (`Tests/Fixtures/cases`, copied from the project's
/// `shared/cases`) and inputs of our own of each kind, through the built binary: `check` and
/// `run` end with exit 2 and one line naming the file, the tensor or field and what is wrong —
/// never a trap, never a silent success — and the sane variants of each case work.
final class SharedCasesTests: XCTestCase {
  var work = ""
  let cases = CLIHarness.fixtures + "/cases"

  override func setUpWithError() throws { work = try CLIHarness.temporaryDirectory("shared-cases") }
  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

  /// `check` and `run` of `manifest` both exit 2 with one line mentioning `words`; `run` leaves no
  /// journal behind.
  private func expectBadInput(_ manifest: String, mentions words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
    let runDirectory = "\(work)/run-\(UUID().uuidString)"
    for arguments in [["check", manifest], ["run", manifest, "--run-dir", runDirectory, "--progress", "none"]] {
      let result = try CLIHarness.run(arguments)
      XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)", file: file, line: line)
      let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
      XCTAssertEqual(lines.count, 1, "\(arguments): expected one line, got: \(result.stderr)", file: file, line: line)
      XCTAssertTrue(result.stderr.hasPrefix("ntkbatch: error: "), result.stderr, file: file, line: line)
      for word in words {
        XCTAssertTrue(result.stderr.contains(word), "\(arguments): '\(word)' not in: \(result.stderr)", file: file, line: line)
      }
    }
    let segments = (try? FileManager.default.contentsOfDirectory(atPath: runDirectory + "/journal")) ?? []
    XCTAssertEqual(segments, [], "a refused run must not start a journal", file: file, line: line)
  }

  private func expectWorks(_ manifest: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    try CLIHarness.succeed(["check", manifest], file: file, line: line)
    let runDirectory = "\(work)/run-\(UUID().uuidString)"
    try CLIHarness.succeed(["run", manifest, "--run-dir", runDirectory, "--progress", "none"], file: file, line: line)
    try CLIHarness.succeed(["verify", runDirectory], file: file, line: line)
    return runDirectory
  }

  // MARK: huge shapes

  func testSharedHugeShapesAreTooLargeInOneLine() throws {
    let folder = cases + "/huge-shapes"
    try expectBadInput(folder + "/m_wrap.json", mentions: ["wrap.safetensors", "extra.num_batches_tracked", "[4294967296, 4294967296]", "too large"])
    try expectBadInput(folder + "/m_wrap2.json", mentions: ["wrap2.safetensors", "linear.bias", "[10, 4294967296, 4294967296]", "too large"])
    try expectBadInput(folder + "/m_npy_wrap.json", mentions: ["wrap.npy", "[4294967296, 4294967296, 3, 32, 32]", "too large"])
    try expectBadInput(folder + "/m_npy_wrap_n.json", mentions: ["wrap_n.npy", "[2305843009213693952, 3, 32, 32]", "too large"])
    _ = try expectWorks(folder + "/m_good.json")
  }

  /// Our own: a safetensors shape whose product is 2⁶⁴ exactly and an `.npy` of 2⁶² float32s,
  /// each with a non-empty byte range so that only the overflow check can catch them.
  func testOwnHugeShapesAreTooLargeInOneLine() throws {
    let good = try FileBytes.read(path: cases + "/huge-shapes/good.safetensors")
    let file = try SafetensorsFile(bytes: good, path: "good")
    let weight = file.tensors["linear.weight"]!, bias = file.tensors["linear.bias"]!
    let header = #"{"linear.weight":{"dtype":"F32","shape":[10,3072],"data_offsets":[0,122880]},"linear.bias":{"dtype":"F32","shape":[10],"data_offsets":[122880,122920]},"# +
      #""big":{"dtype":"F64","shape":[65536,65536,65536,4096],"data_offsets":[122920,122928]}}"#
    let bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init) + Array(header.utf8) + weight.data + bias.data + [UInt8](repeating: 0, count: 8)
    try Data(bytes).write(to: URL(fileURLWithPath: "\(work)/big.safetensors"))
    try FileManager.default.copyItem(atPath: cases + "/huge-shapes/x.npy", toPath: "\(work)/x.npy")
    let manifest = try CLIHarness.writeManifest(
      ["name": "big", "dataset": ["name": "npy", "path": "x.npy"], "model": ["name": "logistic", "weights": "big.safetensors"],
       "ntk": ["tileSamples": 4]], in: work, name: "m_big")
    try expectBadInput(manifest, mentions: ["big.safetensors", "'big'", "[65536, 65536, 65536, 4096]", "too large"])

    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 3, 32, 32), }\n"
    let npy = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(dict.utf8.count), 0] + Array(dict.utf8) + [UInt8](repeating: 0, count: 4 * 3072)
    try Data(npy).write(to: URL(fileURLWithPath: "\(work)/big.npy"))
    let npyManifest = try CLIHarness.writeManifest(
      ["name": "bignpy", "dataset": ["name": "npy", "path": "big.npy"], "model": ["name": "logistic"], "ntk": ["tileSamples": 4]],
      in: work, name: "m_bignpy")
    try expectBadInput(npyManifest, mentions: ["big.npy", "[4611686018427387904, 3, 32, 32]", "too large"])
  }

  // MARK: safetensors headers, manifest keys

  func testSharedSafetensorsHeadersTheReferenceRejectsAreRefused() throws {
    let folder = cases + "/safetensors-header"
    try expectBadInput(folder + "/m_dup.json", mentions: ["dup.safetensors", "linear.bias", "twice"])
    try expectBadInput(folder + "/m_overlap.json", mentions: ["overlap.safetensors", "'linear.weight'", "'linear.bias'", "overlapping"])
    // The two readings of dup.safetensors are valid on their own, and give different kernels.
    let a = try expectWorks(folder + "/m_biasA.json"), b = try expectWorks(folder + "/m_biasB.json")
    XCTAssertNotEqual(try FileBytes.read(path: a + "/logits.npy"), try FileBytes.read(path: b + "/logits.npy"))
  }

  func testOwnSafetensorsAndManifestDuplicatesAreRefused() throws {
    // A gap between two tensors (bytes no tensor owns), which the reference refuses too.
    let good = try FileBytes.read(path: cases + "/huge-shapes/good.safetensors")
    let file = try SafetensorsFile(bytes: good, path: "good")
    let header = #"{"linear.weight":{"dtype":"F32","shape":[10,3072],"data_offsets":[0,122880]},"linear.bias":{"dtype":"F32","shape":[10],"data_offsets":[122888,122928]}}"#
    let bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init) + Array(header.utf8) + file.tensors["linear.weight"]!.data + [UInt8](repeating: 0, count: 8) + file.tensors["linear.bias"]!.data
    try Data(bytes).write(to: URL(fileURLWithPath: "\(work)/gap.safetensors"))
    try FileManager.default.copyItem(atPath: cases + "/huge-shapes/x.npy", toPath: "\(work)/x.npy")
    let manifest = try CLIHarness.writeManifest(
      ["name": "gap", "dataset": ["name": "npy", "path": "x.npy"], "model": ["name": "logistic", "weights": "gap.safetensors"],
       "ntk": ["tileSamples": 4]], in: work, name: "m_gap")
    try expectBadInput(manifest, mentions: ["gap.safetensors", "linear.bias", "expected to start at 122880", "found 122888"])

    // A manifest with a key twice: JSON readers silently keep one of the two values.
    let text = #"{"name": "dup", "dataset": {"name": "npy", "path": "x.npy"}, "model": {"name": "logistic", "name": "lenet"}, "ntk": {"tileSamples": 4}}"#
    try Data(text.utf8).write(to: URL(fileURLWithPath: "\(work)/m_dupkey.json"))
    try expectBadInput("\(work)/m_dupkey.json", mentions: ["m_dupkey.json", "model.name", "twice"])
  }

  // MARK: non-finite

  func testSharedNonFiniteWeightsAndInputsAreRefused() throws {
    let folder = cases + "/non-finite"
    try expectBadInput(folder + "/m_nan.json", mentions: ["nan.safetensors", "'fc1.weight'", "found nan at index ["])
    try expectBadInput(folder + "/m_inf.json", mentions: ["inf_f16.safetensors", "'fc2.weight'", "inf at index [", "605 non-finite of 1200"])
    try expectBadInput(folder + "/m_xnan.json", mentions: ["x_nan.npy", "found nan at index [2, ", "image 2"])
    let run = try expectWorks(folder + "/m_ok.json")
    try CLIHarness.succeed(["assemble", run, "--output", "\(work)/ok.npy"])
    let matrix = try NpyArray.read(path: "\(work)/ok.npy")
    XCTAssertEqual(matrix.shape, [60, 60])
    XCTAssertNil(NonFiniteScan.scan(matrix.doubles()))
  }

  /// Our own non-finite inputs: +Inf as the very last pixel of a float64 `.npy`, and -Inf in a
  /// bias of otherwise valid weights.
  func testOwnNonFiniteWeightsAndInputsAreRefused() throws {
    var pixels = [Double](repeating: 0.25, count: 2 * 3072)
    pixels[pixels.count - 1] = .infinity
    try Data(NpyArray(shape: [2, 3, 32, 32], values: pixels).encoded()).write(to: URL(fileURLWithPath: "\(work)/inf.npy"))
    let manifest = try CLIHarness.writeManifest(
      ["name": "inf", "dataset": ["name": "npy", "path": "inf.npy"], "model": ["name": "logistic"], "ntk": ["tileSamples": 2]],
      in: work, name: "m_infnpy")
    try expectBadInput(manifest, mentions: ["inf.npy", "found inf at index [1, 2, 31, 31]", "image 1"])

    let good = try SafetensorsFile.read(path: cases + "/huge-shapes/good.safetensors")
    let entries = good.names.map { name -> (name: String, shape: [Int], values: [Double]) in
      var values = good.tensors[name]!.doubles()
      if name == "linear.bias" { values[7] = -.infinity }
      return (name, good.tensors[name]!.shape, values)
    }
    try Data(SafetensorsFile.encode(entries)).write(to: URL(fileURLWithPath: "\(work)/neginf.safetensors"))
    try FileManager.default.copyItem(atPath: cases + "/huge-shapes/x.npy", toPath: "\(work)/x.npy")
    let weights = try CLIHarness.writeManifest(
      ["name": "neginf", "dataset": ["name": "npy", "path": "x.npy"], "model": ["name": "logistic", "weights": "neginf.safetensors"],
       "ntk": ["tileSamples": 4]], in: work, name: "m_neginf")
    try expectBadInput(weights, mentions: ["neginf.safetensors", "'linear.bias'", "found -inf at index [7]", "1 non-finite of 10"])
  }

  /// Finite inputs so large (1e20) that the float32 eNTK overflows: `run` stops with exit 1
  /// naming tile 0, and nothing is journaled or stored.
  func testATileThatOverflowsIsNotJournaledAndRunExitsOne() throws {
    let pixels = [Float](repeating: 1e20, count: 2 * 3072)
    try Data(NpyArray(shape: [2, 3, 32, 32], values: pixels).encoded()).write(to: URL(fileURLWithPath: "\(work)/large.npy"))
    let manifest = try CLIHarness.writeManifest(
      ["name": "large", "dataset": ["name": "npy", "path": "large.npy"], "model": ["name": "logistic"],
       "ntk": ["tileSamples": 2, "precision": "float32", "normalization": "none"]], in: work, name: "m_large")
    try CLIHarness.succeed(["check", manifest])
    let run = "\(work)/run-large"
    let result = try CLIHarness.run(["run", manifest, "--run-dir", run, "--progress", "none"])
    XCTAssertEqual(result.status, 1, result.stderr)
    XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    XCTAssertTrue(result.stderr.contains("tile 0 (I=0, J=0)"), result.stderr)
    XCTAssertTrue(result.stderr.contains("non-finite"), result.stderr)
    XCTAssertTrue(result.stderr.contains("not journaled (ntk.precision float64 or ntk.normalization sqrt-params may avoid it)"), result.stderr)
    // With sqrt-params already set, the advice does not suggest it.
    let scaled = try CLIHarness.writeManifest(
      ["name": "large", "dataset": ["name": "npy", "path": "large.npy"], "model": ["name": "logistic"],
       "ntk": ["tileSamples": 2, "precision": "float32", "normalization": "sqrt-params"]], in: work, name: "m_large_scaled")
    let again = try CLIHarness.run(["run", scaled, "--run-dir", "\(work)/run-large-scaled", "--progress", "none"])
    XCTAssertEqual(again.status, 1, again.stderr)
    XCTAssertTrue(again.stderr.contains("not journaled (ntk.precision float64 may avoid it)"), again.stderr)
    let status = try CLIHarness.succeed(["status", run, "--json"])
    let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
    XCTAssertEqual(json["tilesDone"] as? Int, 0)
    XCTAssertEqual(json["sessions"] as? Int, 1)
    let objects = try FileManager.default.subpathsOfDirectory(atPath: run + "/objects")
    XCTAssertEqual(objects, [], "no object is stored for a non-finite tile")
  }

  /// float64 files whose values are finite but beyond float32's range become ±Inf in a float32
  /// run: refused up front like NaN, naming the tensor or file and the index.
  func testFloat64ValuesBeyondFloat32AreRefusedInAFloat32Run() throws {
    var pixels = [Double](repeating: 0.5, count: 2 * 3072)
    pixels[3072 + 5] = -1e300
    try Data(NpyArray(shape: [2, 3, 32, 32], values: pixels).encoded()).write(to: URL(fileURLWithPath: "\(work)/wide.npy"))
    let inputs = try CLIHarness.writeManifest(
      ["name": "wide", "dataset": ["name": "npy", "path": "wide.npy"], "model": ["name": "logistic"], "ntk": ["tileSamples": 2]],
      in: work, name: "m_widenpy")
    try expectBadInput(inputs, mentions: ["wide.npy", "fit float32", "-1e+300", "[1, 0, 0, 5]"])

    let good = try SafetensorsFile.read(path: cases + "/huge-shapes/good.safetensors")
    let entries = good.names.map { name -> (name: String, shape: [Int], values: [Double]) in
      var values = good.tensors[name]!.doubles()
      if name == "linear.weight" { values[3072 + 1] = 1e39 }
      return (name, good.tensors[name]!.shape, values)
    }
    try Data(SafetensorsFile.encode(entries, dtype: "F64")).write(to: URL(fileURLWithPath: "\(work)/wide.safetensors"))
    try FileManager.default.copyItem(atPath: cases + "/huge-shapes/x.npy", toPath: "\(work)/x.npy")
    let weights = try CLIHarness.writeManifest(
      ["name": "wide", "dataset": ["name": "npy", "path": "x.npy"], "model": ["name": "logistic", "weights": "wide.safetensors"],
       "ntk": ["tileSamples": 4]], in: work, name: "m_wideweights")
    try expectBadInput(weights, mentions: ["wide.safetensors", "'linear.weight'", "fit float32", "[1, 1]"])
    // In a float64 run the same weights are fine.
    let float64 = try CLIHarness.writeManifest(
      ["name": "wide64", "dataset": ["name": "npy", "path": "x.npy"], "model": ["name": "logistic", "weights": "wide.safetensors"],
       "ntk": ["tileSamples": 4, "precision": "float64"]], in: work, name: "m_wideweights64")
    try CLIHarness.succeed(["check", float64])
  }
}
