import Foundation
import Storage

extension Journal {
  /// A journal segment from which `salvage()` cut damaged records.
  public struct Cut: Codable, Equatable, Sendable {
    /// The segment file, now without its damaged records.
    public var segment: String
    /// Where the original, uncut segment was kept (`segment-NNNNNN.log.damaged`, or `….damaged.2`, …).
    public var damagedCopy: String
    /// Byte offset of the first damaged record.
    public var offset: Int
    /// Bytes removed from the segment (the damaged records only; valid records after them are kept).
    public var bytesCut: Int
    /// What was wrong with the record.
    public var reason: String
  }

  /// Removes every damaged record from every segment (see `JournalFrame`'s torn-tail rule), so that
  /// the journal replays again: from a damaged record it resynchronises on the next frame whose
  /// length and SHA-256 check out, so only the damaged records' tiles are lost (computed again by
  /// the next `run`); every record after them is kept. The caller must hold the run's lock.
  ///
  /// For each damaged segment: the original bytes are first copied, atomically and durably, to
  /// `segment-NNNNNN.log.damaged` (kept for inspection; `replay` ignores it), then the segment is
  /// atomically replaced by its valid frames. A crash in between leaves either the original or the
  /// repaired segment, never a mix.
  ///
  /// A segment whose first (header) record is damaged is set aside whole instead (renamed
  /// `….damaged`): its tile records cannot be proven to belong to the run.
  ///
  /// - Returns: the segments cut, in order (empty when the journal is intact).
  /// - Throws: `CheckpointError` (`.failure`) on I/O errors.
  public func salvage() throws -> [Cut] {
    var cuts: [Cut] = []
    for segment in try segments() {
      let path = directory + "/" + segment.fileName
      let bytes = try Self.segmentBytes(at: path)
      guard let damage = JournalFrame.scan(bytes).damage else { continue }
      if damage.offset == 0 {
        // The header record is damaged: nothing proves the segment's tile records belong to this
        // run, so the whole segment is set aside; its tiles are computed again.
        let copy = try setAside(path)
        cuts.append(Cut(segment: path, damagedCopy: copy, offset: 0, bytesCut: bytes.count,
                        reason: "\(damage.reason) in the header record: segment set aside, its tiles are computed again by the next run"))
        continue
      }
      let copy = Self.damagedCopyPath(for: path)
      let repaired = Self.withoutDamagedFrames(bytes)
      try CheckpointError.wrapping {
        try AtomicFile.write(bytes, to: copy)
        try AtomicFile.write(repaired, to: path)
      }
      cuts.append(Cut(segment: path, damagedCopy: copy, offset: damage.offset, bytesCut: bytes.count - repaired.count,
                      reason: damage.reason))
    }
    return cuts
  }

  /// `bytes` with each damaged frame removed: from a damaged frame to the next valid frame (or to
  /// the end, when none follows).
  static func withoutDamagedFrames(_ bytes: [UInt8]) -> [UInt8] {
    var repaired = bytes
    while let damage = JournalFrame.scan(repaired).damage {
      if let next = JournalFrame.firstValidFrame(in: repaired, after: damage.offset) {
        repaired = Array(repaired[..<damage.offset]) + Array(repaired[next...])
      } else {
        repaired = Array(repaired[..<damage.offset])
      }
    }
    return repaired
  }
}
