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
    try fileNames().filter { JournalSegmentName(fileName: $0) == nil && !AtomicFile.isTemporaryName($0) }.sorted().map { directory + "/" + $0 }
  }
}
