import XCTest

@testable import Pipeline

/// `ProcessMemory` reads `Key: N kB` fields of `/proc/self/status` and `/proc/meminfo`.
final class ProcessMemoryTests: XCTestCase {
  /// `/proc/self/status` pads the number to 8 columns after a tab: from 10⁷ kB (9.5 GiB) on only
  /// the tab separates it from the key. Such a VmHWM was read as nothing, so `run --progress lines`
  /// printed `peak resident memory: 0 bytes` for the 17 GB end-to-end run, and a resident size of
  /// that order would have entered the memory plan as 0.
  func testFieldsAfterATabSpacesOrBothAreRead() {
    let status = "Name:\tntkbatch\nVmHWM:\t17876340 kB\nVmRSS:\t 7671064 kB\n"
    XCTAssertEqual(ProcessMemory.kibibyteField("VmHWM", inText: status), 17_876_340 * 1024)
    XCTAssertEqual(ProcessMemory.kibibyteField("VmRSS", inText: status), 7_671_064 * 1024)
    XCTAssertEqual(ProcessMemory.kibibyteField("MemTotal", inText: "MemTotal:       24576000 kB\n"), 24_576_000 * 1024)
    XCTAssertNil(ProcessMemory.kibibyteField("VmSwap", inText: status))
    XCTAssertNil(ProcessMemory.kibibyteField("Name", inText: status))
  }

  /// This process's own fields are read (whatever their width); the peak, read second, is at
  /// least the resident size read first (the kernel reports VmHWM as the larger of its mark and
  /// the current size).
  func testThisProcessHasAPeakAtLeastItsResidentSize() throws {
    let resident = try XCTUnwrap(ProcessMemory.residentBytes())
    let peak = try XCTUnwrap(ProcessMemory.peakResidentBytes())
    XCTAssertGreaterThan(resident, 1 << 20)
    XCTAssertGreaterThanOrEqual(peak, resident)
  }
}
