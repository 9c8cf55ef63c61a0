import Foundation
import XCTest
@testable import Storage
import Engine
import TestSupport

/// Differential tests against the formats' reference readers, installed from PyPI into a virtual
/// environment this test creates (`.build/python-reference`): `safetensors.safe_open`
/// (huggingface/safetensors 0.8.0) and `numpy.load`. Each pair must accept and refuse the same
/// files — shared cases, hand-made edge cases and 600 seeded mutations each — and read the same
/// tensors when both accept. The deliberate differences (ntkbatch refuses a key given twice and a
/// negative dimension, and reads only the dtypes a model can use) are counted, not hidden.
final class ReferenceReaderTests: XCTestCase {
  /// `.build/python-reference/bin/python` with safetensors and numpy installed (created once).
  static func referencePython() throws -> String {
    let root = CLIHarness.repositoryRoot + "/.build/python-reference"
    let python = root + "/bin/python"
    if !FileManager.default.fileExists(atPath: root + "/.ready") {
      try? FileManager.default.removeItem(atPath: root)
      try run(["python3", "-m", "venv", root], "create the virtual environment (Debian: apt-get install python3-venv)")
      try run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "safetensors==0.8.0", "numpy"],
              "install safetensors and numpy from PyPI")
      _ = FileManager.default.createFile(atPath: root + "/.ready", contents: Data())
    }
    return python
  }

  @discardableResult
  private static func run(_ arguments: [String], _ purpose: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let result = try CLIHarness.capture(process)
    guard result.status == 0 else {
      throw NSError(domain: "ReferenceReaderTests", code: Int(result.status), userInfo: [
        NSLocalizedDescriptionKey: "could not \(purpose): \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr.suffix(2000))"])
    }
    return result.stdout
  }

  /// What a reader made of a file: `nil` if refused, else each tensor as "name dtype shape sha256".
  private func ours(_ path: String) -> [String]? {
    guard let file = try? SafetensorsFile.read(path: path) else { return nil }
    return file.names.sorted().map { name in
      let tensor = file.tensors[name]!
      return "\(name) \(tensor.dtype) \(tensor.shape) \(ContentHash.sha256(tensor.data).hex)"
    }
  }

  func testSafetensorsFilesAreReadAsTheReferenceReadsThem() throws {
    let python = try Self.referencePython()
    let directory = try CLIHarness.temporaryDirectory("safetensors-reference")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var files: [String] = []
    func add(_ bytes: [UInt8], _ label: String) throws {
      let path = "\(directory)/\(files.count)-\(label).safetensors"
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      files.append(path)
    }
    for folder in ["huge-shapes", "safetensors-header", "non-finite"] {
      for name in try FileManager.default.contentsOfDirectory(atPath: CLIHarness.fixtures + "/cases/" + folder).sorted() where name.hasSuffix(".safetensors") {
        try add(FileBytes.read(path: CLIHarness.fixtures + "/cases/\(folder)/\(name)"), name.replacingOccurrences(of: ".safetensors", with: ""))
      }
    }
    try add(FileBytes.read(path: CLIHarness.fixtures + "/lenet-w0/weights.safetensors"), "lenet")
    func file(_ header: String, _ buffer: [UInt8]) -> [UInt8] {
      withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init) + Array(header.utf8) + buffer
    }
    let eight = [UInt8](1...8)
    let edges: [(String, [UInt8])] = [
      (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, eight),
      (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, eight + [0, 0, 0, 0]),
      (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, eight),
      (#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}"#, eight),
      (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}   "#, eight),
      (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":1}}"#, eight),
      (#" {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, eight),
      (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, eight),
      (#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}"#, []),
      (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} x"#, eight),
      ("{}", []),
      // The two documented differences: a key twice whose last entry adds up (the reference keeps
      // it), and a dtype no model uses.
      (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, eight),
      (#"{"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}"#, eight),
    ]
    for (k, edge) in edges.enumerated() { try add(file(edge.0, edge.1), "edge\(k)") }
    // Mutations of a small valid file's header (the fuzzer's text mutations, re-framed).
    let original = SafetensorsFile.encode(
      [(name: "fc.weight", shape: [2, 3], values: (0..<6).map(Double.init)), (name: "fc.bias", shape: [2], values: [1, 2])],
      dtype: "F64")
    let length = Int(original[0]) | Int(original[1]) << 8
    let header = String(decoding: original[8..<(8 + length)], as: UTF8.self)
    var random = SplitMix64(seed: 21)
    for k in 0..<600 {
      let text = Fuzzer.mutateText(header, &random)
      try add(withUnsafeBytes(of: UInt64(text.count).littleEndian, Array.init) + text + Array(original[(8 + length)...]), "mutant\(k)")
    }

    let script = """
      import hashlib, sys
      from safetensors import safe_open
      for path in sys.stdin.read().split("\\n"):
          if not path: continue
          try:
              with safe_open(path, framework="numpy") as f:
                  rows = []
                  for name in sorted(f.keys()):
                      t = f.get_tensor(name)
                      s = f.get_slice(name)
                      rows.append("%s %s [%s] %s" % (name, s.get_dtype(), ", ".join(str(d) for d in t.shape), hashlib.sha256(t.tobytes()).hexdigest()))
              print(path + "\\tOK\\t" + "|".join(rows))
          except Exception as e:
              print(path + "\\tERR\\t" + type(e).__name__ + ": " + str(e).replace("\\n", " ")[:200])
      """
    let lines = try readWithReference(script: script, python: python, files: files, in: directory)
    XCTAssertEqual(lines.count, files.count)

    var agreed = 0, bothRead = 0, duplicates = 0, otherDtypes = 0
    for line in lines {
      let parts = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      guard parts.count == 3 else { XCTFail("reference output: \(line)"); continue }
      let path = parts[0]
      let referenceRead = parts[1] == "OK" ? parts[2].split(separator: "|").map(String.init) : nil
      let ourRead = ours(path)
      let bytes = try FileBytes.read(path: path)
      let declared = bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
      let headerBytes = bytes.count >= 8 ? Array(bytes[8..<(8 + Int(min(declared, UInt64(bytes.count - 8))))]) : []
      if referenceRead != nil, ourRead == nil {
        if JSONDuplicateKeys.first(in: headerBytes) != nil { duplicates += 1; continue }
        if let refused = referenceRead, refused.contains(where: { !["F32", "F64", "F16", "BF16", "I64"].contains(String($0.split(separator: " ")[1])) }) {
          otherDtypes += 1
          continue
        }
      }
      XCTAssertEqual(ourRead == nil, referenceRead == nil, "\(path): reference \(parts[1]) \(parts[2]); ntkbatch \(ourRead == nil ? "refuses: \(errorText(path))" : "reads")")
      if let ourRead, let referenceRead {
        XCTAssertEqual(ourRead, referenceRead, path)
        bothRead += 1
      }
      if (ourRead == nil) == (referenceRead == nil) { agreed += 1 }
    }
    print("safetensors reference: \(files.count) files, \(agreed) judged alike (\(bothRead) read by both), \(duplicates) refused only for a duplicate key, \(otherDtypes) only for a dtype ntkbatch does not read")
    XCTAssertEqual(duplicates, 1)
    XCTAssertEqual(otherDtypes, 1)
    XCTAssertGreaterThan(bothRead, 50)
    XCTAssertGreaterThan(files.count - bothRead, 300, "most mutants are refused by both")
  }

  /// The same for `.npy` against `numpy.load(allow_pickle=False)`: 600 mutations of a header's
  /// dict (versions 1, 2 and 3) are accepted and refused alike, and read to the same shape and
  /// bytes, apart from what ntkbatch reads on purpose only in part (dtypes other than
  /// `<f2 <f4 <f8 <i8 |u1`, Fortran order) and two cases it refuses on purpose (a key twice, which
  /// numpy resolves to the last; a negative dimension, which numpy wraps around), counted.
  func testNpyHeadersAreReadAsNumpyReadsThem() throws {
    let python = try Self.referencePython()
    let directory = try CLIHarness.temporaryDirectory("npy-reference")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"
    var random = SplitMix64(seed: 22)
    var files: [String] = []
    for k in 0..<600 {
      let text = Fuzzer.mutateText(dict, &random) + [0x0A]
      var payload = (0..<48).map { UInt8(truncatingIfNeeded: $0 &* 37) }
      let probe = NpyHeader.magic + [2, 0] + withUnsafeBytes(of: UInt32(text.count).littleEndian, Array.init) + text
      if let declared = try? NpyHeader.decode(probe, path: "probe").header.dataBytes, declared <= 4096 {
        payload = (0..<declared).map { UInt8(truncatingIfNeeded: $0 &* 37) }
      }
      let version = UInt8(1 + k % 3)
      let preamble: [UInt8] = version == 1 && text.count < 65_536
        ? NpyHeader.magic + [1, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)]
        : NpyHeader.magic + [version == 1 ? 2 : version, 0] + withUnsafeBytes(of: UInt32(text.count).littleEndian, Array.init)
      let path = "\(directory)/\(k).npy"
      try Data(preamble + text + payload).write(to: URL(fileURLWithPath: path))
      files.append(path)
    }
    let script = """
      import hashlib, sys, numpy
      for path in sys.stdin.read().split("\\n"):
          if not path: continue
          try:
              a = numpy.load(path, allow_pickle=False)
              print(path + "\\tOK\\t" + a.dtype.str + " " + str(list(a.shape)) + " " + ("F" if (a.flags.f_contiguous and not a.flags.c_contiguous) else "C") + " " + hashlib.sha256(numpy.ascontiguousarray(a).tobytes()).hexdigest())
          except Exception as e:
              print(path + "\\tERR\\t" + type(e).__name__ + ": " + str(e).replace("\\n", " ")[:200])
      """
    let lines = try readWithReference(script: script, python: python, files: files, in: directory)
    XCTAssertEqual(lines.count, files.count)
    let readable = Set(NpyDType.allCases.map(\.rawValue) + ["<u1"])
    var bothRead = 0, bothRefused = 0, partial = 0, duplicates = 0, negative = 0
    for line in lines {
      let parts = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      guard parts.count == 3 else { XCTFail("reference output: \(line)"); continue }
      let ours: String?
      do {
        let array = try NpyArray.read(path: parts[0])
        ours = "\(array.dtype.rawValue == "|u1" ? "|u1" : array.dtype.rawValue) \(array.shape) C \(ContentHash.sha256(array.data).hex)"
      } catch {
        ours = nil
      }
      if parts[1] == "OK" {
        let fields = parts[2].split(separator: " ")
        if ours == nil, !readable.contains(String(fields[0])) || fields[fields.count - 2] == "F" { partial += 1; continue }
        // Deliberate differences: a key twice (numpy keeps the last), a negative dimension (numpy
        // 2 reads (-2⁶³, 4) as an empty [0, 4] array through wrap-around). ntkbatch refuses both.
        let text = rawHeader(parts[0])
        if ours == nil, ["descr", "fortran_order", "shape"].contains(where: { text.components(separatedBy: "'\($0)'").count > 2 }) {
          duplicates += 1
          continue
        }
        if ours == nil, text.contains("(-") || text.contains(", -") {
          negative += 1
          continue
        }
        XCTAssertEqual(ours, parts[2], "\(headerText(parts[0])): numpy reads \(parts[2]); ntkbatch \(ours == nil ? "refuses: \(npyError(parts[0]))" : "reads \(ours!)")")
        if ours != nil { bothRead += 1 }
      } else {
        XCTAssertNil(ours, "\(headerText(parts[0])): numpy refuses (\(parts[2])), ntkbatch reads \(ours ?? "")")
        if ours == nil { bothRefused += 1 }
      }
    }
    print("npy reference: \(files.count) files, \(bothRead) read by both, \(bothRefused) refused by both, \(partial) read by numpy only for a dtype or order ntkbatch does not read, \(duplicates) refused only for a key twice, \(negative) only for a negative dimension")
    XCTAssertGreaterThan(bothRead, 50)
    XCTAssertGreaterThan(bothRefused, 200)
  }

  /// A file's header dict as text, for messages.
  private func headerText(_ path: String) -> String { path + " " + rawHeader(path).prefix(160).debugDescription }

  /// A file's header dict as written (up to its newline).
  private func rawHeader(_ path: String) -> String {
    guard let bytes = try? FileBytes.read(path: path), bytes.count > 12 else { return "" }
    let start = bytes[6] == 1 ? 10 : 12
    return String(decoding: bytes[start...].prefix { $0 != 0x0A }, as: UTF8.self)
  }

  private func npyError(_ path: String) -> String {
    do { _ = try NpyArray.read(path: path); return "" } catch { return "\(error)" }
  }

  private func errorText(_ path: String) -> String {
    do { _ = try SafetensorsFile.read(path: path); return "" } catch { return "\(error)" }
  }

  /// Runs the reference reader `script` with `python` in `directory`, one path of `files` per line
  /// on its standard input; its output lines (`path\tOK\t…` or `path\tERR\t…`).
  private func readWithReference(script: String, python: String, files: [String], in directory: String) throws -> [Substring] {
    try Data(script.utf8).write(to: URL(fileURLWithPath: directory + "/reference.py"))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [directory + "/reference.py"]
    let stdin = Pipe(), stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    try process.run()
    stdin.fileHandleForWriting.write(Data(files.joined(separator: "\n").utf8))
    try stdin.fileHandleForWriting.close()
    let lines = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
    process.waitUntilExit()
    return lines
  }
}
