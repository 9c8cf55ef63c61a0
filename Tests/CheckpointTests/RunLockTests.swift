import XCTest
@testable import Checkpoint
import TestSupport

final class RunLockTests: XCTestCase {
  func testSecondWriterIsRefusedNamingHolderThenLockCanBeTaken() throws {
    let dir = try TemporaryDirectory("lock")
    defer { dir.remove() }
    let run = RunDirectory(path: dir.path + "/run")
    try run.createLayout()
    let first = try run.lock()
    let line = String(decoding: try readBytes(run.lockPath), as: UTF8.self)
    let pid = ProcessInfo.processInfo.processIdentifier
    XCTAssertEqual(line, "\(pid) \(RunLock.hostName())\n")
    XCTAssertThrowsError(try run.lock()) { error in
      let e = error as? CheckpointError
      XCTAssertEqual(e?.code, .locked)
      XCTAssertTrue(e?.message.contains("in use by pid \(pid) on host \(RunLock.hostName())") ?? false, "\(error)")
      XCTAssertTrue(e?.message.hasPrefix(run.lockPath) ?? false, "\(error)")
    }
    XCTAssertEqual(RunLock.currentHolder(path: run.lockPath), "pid \(pid) on host \(RunLock.hostName())")
    first.release()
    XCTAssertNil(RunLock.currentHolder(path: run.lockPath))
    let second = try run.lock()
    second.release()
  }

  /// A lock held by a process that dies (SIGKILL) is free afterwards: the kernel drops flock
  /// locks with the process, so a stale lock file is taken over.
  func testLockOfKilledProcessIsTakenOver() throws {
    let dir = try TemporaryDirectory("lock")
    defer { dir.remove() }
    let run = RunDirectory(path: dir.path + "/run")
    try run.createLayout()
    try writeBytes(Array("99999 deadhost\n".utf8), run.lockPath)
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
    holder.arguments = ["--exclusive", "--no-fork", run.lockPath, "/bin/sleep", "60"]
    try holder.run()
    defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }
    // Wait until the child holds the lock.
    let deadline = Date().addingTimeInterval(10)
    while RunLock.currentHolder(path: run.lockPath) == nil && Date() < deadline { usleep(10_000) }
    XCTAssertThrowsError(try run.lock()) { error in
      XCTAssertEqual((error as? CheckpointError)?.code, .locked)
      XCTAssertTrue("\(error)".contains("pid 99999 on host deadhost"), "\(error)")
    }
    kill(holder.processIdentifier, SIGKILL)
    holder.waitUntilExit()
    XCTAssertNil(RunLock.currentHolder(path: run.lockPath), "the kernel releases a dead process's flock")
    let lock = try run.lock()
    XCTAssertEqual(String(decoding: try readBytes(run.lockPath), as: UTF8.self),
                   "\(ProcessInfo.processInfo.processIdentifier) \(RunLock.hostName())\n")
    lock.release()
  }
}
