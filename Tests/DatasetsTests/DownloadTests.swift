import Crypto
import Foundation
import TestSupport
import XCTest

@testable import Datasets
@testable import Storage

/// A tiny HTTP/1.1 file server on 127.0.0.1 (Python standard library), started by the test.
///
/// The first path component picks a behaviour: `plain/` honours `Range`, `norange/` ignores it,
/// `corrupt/` flips one byte, `cut/` and `cutnorange/` send half the body and drop the connection the
/// first time a file is asked for, `cutalways/` does so every time. Each request is logged as
/// `<mode> <file> <Range header or ->` to `log.txt`.
final class LocalFileServer {
  static let script = #"""
import http.server, os, socket, sys
root = sys.argv[1]
cut = set()
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_GET(self):
        mode, _, name = self.path.lstrip("/").partition("/")
        rng = self.headers.get("Range")
        with open(os.path.join(root, "log.txt"), "a") as log:
            log.write(f"{mode} {name} {rng or '-'}\n")
        path = os.path.join(root, "files", name)
        if not name or not os.path.isfile(path):
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
        data = bytearray(open(path, "rb").read())
        if mode == "corrupt":
            data[len(data) // 2] ^= 0xFF
        start = 0
        if rng and mode not in ("norange", "cutnorange"):
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416); self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0"); self.end_headers(); return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = bytes(data[start:])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "cutalways" or (mode in ("cut", "cutnorange") and name not in cut):
            cut.add(name)
            self.wfile.write(body[: len(body) // 2]); self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""#

  let root: String
  let process = Process()
  private(set) var port = 0

  init(root: String) throws {
    self.root = root
    try FileManager.default.createDirectory(atPath: "\(root)/files", withIntermediateDirectories: true)
    let scriptPath = "\(root)/server.py"
    try Self.script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
    let output = Pipe()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", scriptPath, root]
    process.standardOutput = output
    try process.run()
    // Read the port line, waiting at most 10 s.
    var text = ""
    let deadline = Date().addingTimeInterval(10)
    while !text.contains("\n"), Date() < deadline, process.isRunning {
      let chunk = output.fileHandleForReading.availableData
      text += String(decoding: chunk, as: UTF8.self)
    }
    guard let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
      process.terminate()
      throw StorageError(.ioFailure, path: scriptPath, "test HTTP server did not start (output: \(text))")
    }
    self.port = port
  }

  func mirror(_ mode: String) -> String { "http://127.0.0.1:\(port)/\(mode)/" }

  func serve(_ name: String, _ bytes: [UInt8]) {
    XCTAssertTrue(FileManager.default.createFile(atPath: "\(root)/files/\(name)", contents: Data(bytes)))
  }

  /// The logged requests, one `<mode> <file> <range>` line each.
  var requests: [String] {
    ((try? String(contentsOfFile: "\(root)/log.txt", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
  }

  func stop() {
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
    }
  }
}

final class DownloadTests: XCTestCase {
  var directory = ""
  var server: LocalFileServer!
  /// 300 kB of seeded pseudo-random bytes (SplitMix64), the served dataset file.
  var payload: [UInt8] = []
  var payloadMD5 = ""

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "ntkbatch-download-\(UUID().uuidString)"
    server = try LocalFileServer(root: "\(directory)/server")
    var state: UInt64 = 0x5EED
    payload = (0..<300_000).map { _ in
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return UInt8(truncatingIfNeeded: z ^ (z >> 31))
    }
    payloadMD5 = Insecure.MD5.hash(data: payload).map { String(format: "%02x", $0) }.joined()
    server.serve("train_32x32.mat", payload)
  }

  override func tearDown() {
    server?.stop()
    try? FileManager.default.removeItem(atPath: directory)
  }

  private var root: String { "\(directory)/root" }

  private func fetch(_ mirrors: [String], attempts: Int = 5, progress: ((Download.Progress) -> Void)? = nil) throws -> Bool {
    try Download.fetchIfMissing(
      fileName: "train_32x32.mat", md5: payloadMD5, mirrors: mirrors, root: root,
      configure: { $0.idleTimeout = 10; $0.requestTimeout = 30; $0.maximumAttempts = attempts }, progress: progress)
  }

  private func installed() throws -> [UInt8] { try FileBytes.read(path: "\(root)/train_32x32.mat") }
  private var partialExists: Bool { FileManager.default.fileExists(atPath: "\(root)/train_32x32.mat.part") }

  func testDownloadsVerifiesAndReportsProgress() throws {
    let lock = NSLock()
    var reports: [Download.Progress] = []
    XCTAssertTrue(try fetch([server.mirror("plain")]) { report in lock.lock(); reports.append(report); lock.unlock() })
    XCTAssertEqual(try installed(), payload)
    XCTAssertFalse(partialExists)
    XCTAssertEqual(try Download.md5(ofFileAt: "\(root)/train_32x32.mat"), payloadMD5)
    XCTAssertEqual(reports.last, Download.Progress(fileName: "train_32x32.mat", receivedBytes: 300_000, totalBytes: 300_000))
    XCTAssertEqual(reports.map(\.receivedBytes), reports.map(\.receivedBytes).sorted())
    XCTAssertTrue(reports.last!.bar(width: 10).hasPrefix("train_32x32.mat [##########] 100%"), reports.last!.bar(width: 10))
    // Present now: no second request.
    XCTAssertFalse(try fetch([server.mirror("plain")]))
    XCTAssertEqual(server.requests, ["plain train_32x32.mat -"])
  }

  func testCorruptDownloadIsRejectedAndDiscarded() throws {
    XCTAssertThrowsError(try fetch([server.mirror("corrupt")])) { error in
      let error = error as? StorageError
      XCTAssertEqual(error?.kind, .badInput)
      XCTAssertTrue(error?.message.contains("checksum mismatch") == true, "\(String(describing: error))")
      XCTAssertTrue(error?.message.contains("expected \(self.payloadMD5)") == true, "\(String(describing: error))")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(root)/train_32x32.mat"))
    XCTAssertFalse(partialExists)
    // A bad mirror followed by a good one: the good one wins.
    XCTAssertTrue(try fetch([server.mirror("corrupt"), server.mirror("plain")]))
    XCTAssertEqual(try installed(), payload)
  }

  func testInterruptedDownloadIsResumedWithARangeRequest() throws {
    XCTAssertTrue(try fetch([server.mirror("cut")]))
    XCTAssertEqual(try installed(), payload)
    XCTAssertFalse(partialExists)
    XCTAssertEqual(server.requests, ["cut train_32x32.mat -", "cut train_32x32.mat bytes=150000-"])
  }

  func testServerWithoutRangeSupportRestartsFromTheBeginning() throws {
    XCTAssertTrue(try fetch([server.mirror("cutnorange")]))
    XCTAssertEqual(try installed(), payload)
    XCTAssertEqual(server.requests, ["cutnorange train_32x32.mat -", "cutnorange train_32x32.mat bytes=150000-"])
  }

  func testPartialFileSurvivesFailedRunAndIsResumedLater() throws {
    XCTAssertThrowsError(try fetch([server.mirror("cutalways")], attempts: 3)) { error in
      XCTAssertEqual((error as? StorageError)?.kind, .ioFailure)
      XCTAssertTrue("\(error)".contains("failed after 3 attempts"), "\(error)")
    }
    // Halves of what remained: 150000, then 75000 more, then 37500 more.
    let partial = try FileBytes.read(path: "\(root)/train_32x32.mat.part")
    XCTAssertEqual(partial, Array(payload.prefix(262_500)))
    XCTAssertFalse(FileManager.default.fileExists(atPath: "\(root)/train_32x32.mat"))
    XCTAssertTrue(try fetch([server.mirror("plain")]))
    XCTAssertEqual(try installed(), payload)
    XCTAssertEqual(server.requests.last, "plain train_32x32.mat bytes=262500-")
  }

  func testStalePartialFileFailingTheChecksumIsRestartedOnce() throws {
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    XCTAssertTrue(FileManager.default.createFile(atPath: "\(root)/train_32x32.mat.part", contents: Data(repeating: 0xAB, count: 1000)))
    XCTAssertTrue(try fetch([server.mirror("plain")]))
    XCTAssertEqual(try installed(), payload)
    XCTAssertEqual(server.requests, ["plain train_32x32.mat bytes=1000-", "plain train_32x32.mat -"])
  }

  func testHTTPErrorsAndBadMirrorsAreReported() throws {
    XCTAssertThrowsError(try Download.fetchIfMissing(
      fileName: "missing.bin", md5: payloadMD5, mirrors: [server.mirror("plain")], root: root,
      configure: { $0.idleTimeout = 10 })) { error in
      XCTAssertEqual((error as? StorageError)?.kind, .badInput)
      XCTAssertTrue("\(error)".contains("HTTP status 404 for http://127.0.0.1:\(self.server.port)/plain/missing.bin"), "\(error)")
    }
    XCTAssertThrowsError(try fetch(["ftp://127.0.0.1/x/"])) { error in
      XCTAssertEqual("\(error)", "dataset.mirror: 'ftp://127.0.0.1/x/' is not an http(s) base address")
    }
    XCTAssertEqual(try Download.address(of: "a.gz", mirror: "http://127.0.0.1:1/base").absoluteString, "http://127.0.0.1:1/base/a.gz")
  }
}
