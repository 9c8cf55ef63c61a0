import Foundation
import XCTest

/// A Python virtual environment with zarr-python 3.x and NumPy from PyPI, for interop tests.
///
/// Kept in `.build/zarr-venv` (or `$NTKBATCH_ZARR_VENV`) and reused while it imports
/// `zarr` ≥ 3 and `numpy`; otherwise (re)created with `python3 -m venv` and `pip install`.
/// When `python3 -m venv` fails on Debian (no `python3-venv`) and `apt-get` is available as root,
/// `python3-venv` is installed first. `tensorstore` is installed too when PyPI has a wheel for
/// this platform (optional: `hasTensorstore` says whether it imports).
enum PythonEnvironment {
  static let path = ProcessInfo.processInfo.environment["NTKBATCH_ZARR_VENV"] ?? CLIHarness.repositoryRoot + "/.build/zarr-venv"
  static var python: String { path + "/bin/python" }

  /// Runs a program to completion; returns status and combined output.
  @discardableResult
  static func shell(_ executable: String, _ arguments: [String], timeout: TimeInterval = 900) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let log = NSTemporaryDirectory() + "ntkbatch-shell-\(UUID().uuidString).log"
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: log) }
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(50_000) }
    if process.isRunning { process.terminate(); process.waitUntilExit() }
    try handle.close()
    return (process.terminationStatus, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
  }

  /// Writes `cases` (JSON) and the checker `script` into `folder`, runs `script cases.json` with
  /// the environment's Python and returns its status and output.
  static func runChecker(_ script: String, cases: [[String: Any]], in folder: String) throws -> (status: Int32, output: String) {
    let list = "\(folder)/cases.json"
    try JSONSerialization.data(withJSONObject: cases).write(to: URL(fileURLWithPath: list))
    let path = "\(folder)/check.py"
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    return try shell(python, [path, list], timeout: 600)
  }

  /// Whether the environment imports zarr ≥ 3 and numpy.
  static var isReady: Bool {
    guard FileManager.default.isExecutableFile(atPath: python) else { return false }
    let probe = try? shell(python, ["-c", "import zarr, numpy; assert int(zarr.__version__.split('.')[0]) >= 3"])
    return probe?.status == 0
  }

  /// Whether tensorstore imports in the environment.
  static var hasTensorstore: Bool {
    (try? shell(python, ["-c", "import tensorstore"]))?.status == 0
  }

  /// Why the environment could not be made (thrown: the test fails with this message).
  struct Failure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
  }

  /// Creates the environment unless it is ready; throws (failing the test loudly) if it cannot.
  static func require() throws {
    if isReady { return }
    func findPython() -> String? {
      for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] where FileManager.default.isExecutableFile(atPath: candidate) {
        return candidate
      }
      let which = try? shell("/usr/bin/env", ["which", "python3"])
      let found = which?.output.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
      return which?.status == 0 && !found.isEmpty ? found : nil
    }
    var python3 = findPython()
    var venv = try python3.map { try shell($0, ["-m", "venv", "--clear", path]) } ?? (status: 1, output: "no python3 on the PATH")
    if venv.status != 0, getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/apt-get") {
      // Debian without Python, or without ensurepip: python3-venv from apt.
      try shell("/usr/bin/apt-get", ["update", "-qq"])
      try shell("/usr/bin/env", ["DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", "python3", "python3-venv"])
      python3 = findPython()
      venv = try python3.map { try shell($0, ["-m", "venv", "--clear", path]) } ?? (status: 1, output: "no python3 after apt-get install python3")
    }
    guard venv.status == 0 else {
      throw Failure(message: "cannot create a Python virtual environment at \(path) with \(python3 ?? "python3") -m venv (install python3 and python3-venv): \(venv.output)")
    }
    let pip = try shell(python, ["-m", "pip", "install", "--quiet", "zarr>=3,<4", "numpy"])
    guard pip.status == 0, isReady else {
      throw Failure(message: "cannot install zarr (3.x) and numpy from PyPI into \(path): \(pip.output)")
    }
    _ = try? shell(python, ["-m", "pip", "install", "--quiet", "--only-binary", ":all:", "tensorstore"], timeout: 300)
  }
}
