import Foundation
import Storage

extension Journal {
  /// Journal records `removeDuplicates` took out of one segment.
  public struct DuplicateRemoval: Codable, Equatable, Sendable {
    /// The segment file, now without the duplicates.
    public var segment: String
    /// Plan indices of the tiles whose duplicate records were removed, in segment order.
    public var tiles: [Int]
  }

  /// Removes every duplicate record (`JournalReplay.duplicates`: a tile journaled again with the
  /// same object) from its segment, keeping the first record of each tile. Each changed segment is
  /// replaced atomically (temporary file, fsync, rename, fsync of the directory), so a crash leaves
  /// either the old or the new segment. Nothing is lost: the removed records repeat one kept
  /// earlier. The caller must make sure no writer is appending (it holds the run's locks).
  ///
  /// - Returns: one entry per segment changed, in replay order.
  /// - Throws: `CheckpointError` (`.damaged`) if the journal does not replay, (`.failure`) on I/O errors.
  public func removeDuplicates() throws -> [DuplicateRemoval] {
    let replay = try self.replay()
    var offsetsBySegment: [String: [Int: Int]] = [:]  // segment → offset → tile index
    for duplicate in replay.duplicates { offsetsBySegment[duplicate.segment, default: [:]][duplicate.offset] = duplicate.record.index }
    var removals: [DuplicateRemoval] = []
    for segment in replay.segments {
      guard let offsets = offsetsBySegment[segment.path] else { continue }
      let bytes = try Self.segmentBytes(at: segment.path)
      var kept: [UInt8] = []
      kept.reserveCapacity(bytes.count)
      var tiles: [Int] = []
      for frame in JournalFrame.scan(bytes).frames {
        let end = frame.offset + JournalFrame.headerSize + frame.payload.count
        if let tile = offsets[frame.offset] { tiles.append(tile); continue }
        kept += bytes[frame.offset..<end]
      }
      try CheckpointError.wrapping { try AtomicFile.write(kept, to: segment.path) }
      removals.append(DuplicateRemoval(segment: segment.path, tiles: tiles))
    }
    return removals
  }
}
