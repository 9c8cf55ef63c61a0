import Foundation
import XCTest
@testable import Storage

/// Differential test against the format's reference implementation: `safetensors.numpy.load`
/// (huggingface/safetensors 0.8.0 from PyPI, in a virtual environment this test creates) and
/// `SafetensorsFile` must accept and refuse the same files — the shared cases, hand-made edge
/// cases and 600 seeded mutations of a small file — and read the same tensors when both accept.
///
/// Two documented differences are checked too: ntkbatch refuses a header with a key given twice
/// (the reference keeps the last one when the offsets still add up), and reads only the dtypes a
/// model can use (F32, F64, F16, BF16, I64).
final class SafetensorsReferenceTests: XCTestCase {
  /// `.build/python-reference/bin/python` with safetensors and numpy installed (created once).
  static func referencePython() throws -> String {
    let root = CLIHarness.repositoryRoot + "/.build/python-reference"
    let python = root + "/bin/python"
    if !FileManager.default.fileExists(atPath: root + "/.ready") {
      try? FileManager.default.removeItem(atPath: root)
      try run(["python3", "-m", "venv", root], "create the virtual environment (Debian: apt-get install python3-venv)")
      try run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "safetensors==0.8.0", "numpy"],
              "install safetensors and numpy from PyPI")
      FileManager.default.createFile(atPath: root + "/.ready", contents: Data())
    }
    return python
  }

  @discardableResult
  private static func run(_ arguments: [String], _ purpose: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let message = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw NSError(domain: "SafetensorsReferenceTests", code: Int(process.terminationStatus), userInfo: [
        NSLocalizedDescriptionKey: "could not \(purpose): \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: message, as: UTF8.self).suffix(2000))"])
    }
    return String(decoding: data, as: UTF8.self)
  }

  /// What a reader made of a file: `nil` if refused, else each tensor as "name dtype shape sha256".
  private func ours(_ path: String) -> [String]? {
    guard let file = try? SafetensorsFile.read(path: path) else { return nil }
    return file.names.sorted().map { name in
      let tensor = file.tensors[name]!
      return "\(name) \(tensor.dtype) \(tensor.shape) \(ContentHash.sha256(tensor.data).hex)"
    }
  }

  func testAcceptsAndRefusesWhatTheReferenceDoes() throws {
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
    var random = FuzzRandom(state: 21)
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

  private func errorText(_ path: String) -> String {
    do { _ = try SafetensorsFile.read(path: path); return "" } catch { return "\(error)" }
  }
}
