import Foundation
import Storage

extension Journal {
  /// Files in the journal directory that replay ignores: not a segment name
  /// (`segment-NNNNNN.log`, `segment-NNNNNN.shard-K-of-N.<8 hex>.log`) and not the temporary of an
  /// atomic rewrite (`repair`). A segment copied aside (`segment-000001.copy.log`) is one: its
  /// records do not count, which `verify` says rather than ignoring it silently.
  ///
  /// - Returns: their paths, sorted.
  /// - Throws: `CheckpointError` (`.failure`) if the directory cannot be listed.
  public func unknownFiles() throws -> [String] {
    try fileNames().filter { JournalSegmentName(fileName: $0) == nil && !AtomicFile.isTemporaryName($0) && !Self.isSetAsideName($0) }
      .sorted().map { directory + "/" + $0 }
  }

  /// The originals `repair` kept in the journal directory (`Journal.damagedCopyPath`: a segment
  /// name + `.damaged`, `.damaged.2`, …: a segment it cut or set aside), sorted. Replay ignores them;
  /// they are kept for inspection and may be deleted.
  ///
  /// - Throws: `CheckpointError` (`.failure`) if the directory cannot be listed.
  public func setAsideFiles() throws -> [String] {
    try fileNames().filter(Self.isSetAsideName).sorted().map { directory + "/" + $0 }
  }

  /// Whether `name` is a segment name followed by `.damaged` or `.damaged.N` (N ≥ 2).
  static func isSetAsideName(_ name: String) -> Bool {
    guard let range = name.range(of: ".damaged", options: .backwards) else { return false }
    let suffix = name[range.upperBound...]
    guard suffix.isEmpty || (suffix.hasPrefix(".") && suffix.count > 1 && suffix.dropFirst().allSatisfy(\.isASCII) && Int(suffix.dropFirst()) != nil) else { return false }
    return JournalSegmentName(fileName: String(name[..<range.lowerBound])) != nil
  }
}
