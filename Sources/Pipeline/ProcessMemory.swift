import Foundation

/// What the kernel says about this process's memory: the limit it may use and its resident size.
///
/// Sources: cgroup v2 `memory.max` (`/sys/fs/cgroup/<group>/memory.max`, the group from
/// `/proc/self/cgroup` line `0::<group>`), cgroup v1 `memory.limit_in_bytes`, `/proc/meminfo`
/// `MemAvailable`, `/proc/self/status` `VmRSS`/`VmHWM` (proc(5)).
public enum ProcessMemory {
  /// The bytes this process may use: the cgroup limit when one is set (and smaller than
  /// MemAvailable), else MemAvailable; `nil` if none can be read.
  public static func availableBytes() -> Int? {
    let available = meminfo("MemAvailable")
    guard let limit = cgroupLimit() else { return available }
    return min(limit, available ?? limit)
  }

  /// The default `ntk.memoryBudget` ("auto"): three quarters of `availableBytes()` (4 GiB if
  /// it cannot be read).
  public static func automaticBudget() -> Int {
    (availableBytes() ?? (4 << 30)) / 4 * 3
  }

  /// This machine's memory, `/proc/meminfo` MemTotal, bytes; `nil` if it cannot be read.
  public static func totalBytes() -> Int? { meminfo("MemTotal") }

  /// Peak resident set size `VmHWM` of this process, bytes.
  public static func peakResidentBytes() -> Int? { status("VmHWM") }

  /// Current resident set size `VmRSS` of this process, bytes.
  public static func residentBytes() -> Int? { status("VmRSS") }

  private static func cgroupLimit() -> Int? {
    let groups = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
    for line in groups.split(separator: "\n") where line.hasPrefix("0::") {
      let group = String(line.dropFirst(3))
      if let limit = number(in: "/sys/fs/cgroup\(group)/memory.max") ?? number(in: "/sys/fs/cgroup/memory.max") {
        return limit
      }
    }
    // cgroup v1: a huge value means "no limit".
    if let limit = number(in: "/sys/fs/cgroup/memory/memory.limit_in_bytes"), limit < (1 << 60) { return limit }
    return nil
  }

  /// The integer in a one-line file (`max` and unreadable files give nil).
  private static func number(in path: String) -> Int? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
  }

  private static func meminfo(_ key: String) -> Int? { kibibyteField(key, in: "/proc/meminfo") }
  private static func status(_ key: String) -> Int? { kibibyteField(key, in: "/proc/self/status") }

  private static func kibibyteField(_ key: String, in path: String) -> Int? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    return kibibyteField(key, inText: text)
  }

  /// `Key:   1234 kB` → 1234·1024. The separator after the colon is white space of any kind:
  /// `/proc/self/status` writes a tab and pads the number to 8 columns (`VmHWM:\t 7671064 kB`),
  /// so from 10⁷ kB (9.5 GiB) on only the tab is left (`VmHWM:\t17876340 kB`).
  static func kibibyteField(_ key: String, inText text: String) -> Int? {
    for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
      let fields = line.dropFirst(key.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" })
      if let first = fields.first, let kib = Int(first) { return kib * 1024 }
    }
    return nil
  }
}
