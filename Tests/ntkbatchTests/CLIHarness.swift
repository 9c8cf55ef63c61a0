import Foundation
import Storage
import XCTest

/// Runs the built `ntkbatch` executable in a child process, as a user or scheduler would.
struct CLIHarness {
  /// The result of one finished invocation.
  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// `.build/<configuration>/ntkbatch`, next to the test bundle.
  static var binary: URL {
    Bundle.main.bundleURL.appendingPathComponent("ntkbatch")
  }

  /// The repository's `Tests/Fixtures` folder.
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures").path

  /// The repository root (for `data/mnist-sample`).
  static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

  /// Starts `ntkbatch arguments…` without waiting; output goes to files in `logDirectory`.
  static func start(_ arguments: [String], logDirectory: String, environment: [String: String] = [:]) throws -> Process {
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["OPENBLAS_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] ?? "2"
    for (k, v) in environment { env[k] = v }
    process.environment = env
    FileManager.default.createFile(atPath: logDirectory + "/stdout.log", contents: nil)
    FileManager.default.createFile(atPath: logDirectory + "/stderr.log", contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: logDirectory + "/stdout.log"))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logDirectory + "/stderr.log"))
    try process.run()
    return process
  }

  /// The text written so far to `name` (`"stdout"` or `"stderr"`) of a process `start`ed with
  /// `logDirectory` (empty if there is none yet).
  static func log(_ logDirectory: String, _ name: String) -> String {
    (try? String(contentsOfFile: "\(logDirectory)/\(name).log", encoding: .utf8)) ?? ""
  }

  /// Polls every `interval` µs until `condition()` holds, `process` has exited or `seconds` have
  /// passed (the caller asserts which it was).
  static func wait(for process: Process, seconds: Double = 120, interval: UInt32 = 5_000, until condition: () -> Bool) {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning, Date() < deadline, !condition() { usleep(interval) }
  }

  /// Runs `ntkbatch arguments…` to completion and captures its output.
  @discardableResult
  static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
    let logs = try temporaryDirectory("cli-logs")
    defer { try? FileManager.default.removeItem(atPath: logs) }
    let process = try start(arguments, logDirectory: logs, environment: environment)
    process.waitUntilExit()
    return Result(status: process.terminationStatus, stdout: log(logs, "stdout"), stderr: log(logs, "stderr"))
  }

  /// Runs `process` (set up but not started) with its output captured through pipes, to completion.
  static func capture(_ process: Process) throws -> Result {
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                  stderr: String(decoding: stderr, as: UTF8.self))
  }

  /// Runs and asserts exit status 0, returning the output.
  @discardableResult
  static func succeed(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Result {
    let result = try run(arguments)
    XCTAssertEqual(result.status, 0, "ntkbatch \(arguments.joined(separator: " ")) failed: \(result.stderr)", file: file, line: line)
    return result
  }

  /// Serves `folder` over HTTP on 127.0.0.1 (Python's `http.server`, port chosen by the system):
  /// the running server process (terminate it when done) and its port. Fails the test if the
  /// server prints no port.
  static func serveFolder(_ folder: String) throws -> (server: Process, port: Substring) {
    let server = Process()
    server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    server.arguments = ["python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", folder]
    let output = Pipe()
    server.standardOutput = output
    server.standardError = FileHandle.nullDevice
    try server.run()
    // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
    let banner = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
    guard let port = banner.split(separator: " ").firstIndex(of: "port").map({ banner.split(separator: " ")[$0 + 1] }) else {
      server.terminate()
      server.waitUntilExit()
      XCTFail("no port in: \(banner)")
      throw CocoaError(.fileReadUnknown)
    }
    return (server, port)
  }

  /// A fresh, empty temporary directory.
  static func temporaryDirectory(_ prefix: String) throws -> String {
    let path = NSTemporaryDirectory() + "ntkbatch-\(prefix)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// Writes a manifest JSON object to `directory/name.json` and returns its path.
  /// Every regular file under `path` (relative names) with its bytes.
  static func fileTree(_ path: String) throws -> [String: [UInt8]] {
    var files: [String: [UInt8]] = [:]
    let enumerator = try XCTUnwrap(FileManager.default.enumerator(atPath: path))
    for case let name as String in enumerator where SystemFile.isRegularFile(path + "/" + name) {
      files[name] = try FileBytes.read(path: path + "/" + name)
    }
    return files
  }

  /// Writes `text` to `path`, creating its folder.
  static func writeText(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(atPath: AtomicFile.directory(of: path), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
  }

  static func writeManifest(_ object: [String: Any], in directory: String, name: String = "manifest") throws -> String {
    let path = "\(directory)/\(name).json"
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    try data.write(to: URL(fileURLWithPath: path))
    return path
  }
}
