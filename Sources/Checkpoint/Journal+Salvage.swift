import Foundation
import Storage

extension Journal {
  /// A journal segment that `salvage()` cut at a damaged record.
  public struct Cut: Codable, Equatable, Sendable {
    /// The segment file, now ending just before the damaged record.
    public var segment: String
    /// Where the original, uncut segment was kept (`segment-NNNNNN.log.damaged`, or `….damaged.2`, …).
    public var damagedCopy: String
    /// Byte offset of the damaged record (= the new size of the segment).
    public var offset: Int
    /// Bytes removed from the segment (the damaged record and everything after it).
    public var bytesCut: Int
    /// What was wrong with the record.
    public var reason: String
  }

  /// Cuts every segment at its first damaged record (see `JournalFrame`'s torn-tail rule), so that
  /// the journal replays again; the records after the cut are lost and their tiles are computed
  /// again by the next `run`. The caller must hold the run's lock.
  ///
  /// For each damaged segment: the original bytes are first copied, atomically and durably, to
  /// `segment-NNNNNN.log.damaged` (kept for inspection; `replay` ignores it), then the segment is
  /// atomically replaced by its first `offset` bytes. A crash in between leaves either the
  /// original or the cut segment, never a mix.
  ///
  /// - Returns: the segments cut, in order (empty when the journal is intact).
  /// - Throws: `CheckpointError` (`.failure`) on I/O errors.
  public func salvage() throws -> [Cut] {
    var cuts: [Cut] = []
    for number in try segmentNumbers() {
      let path = directory + "/" + Journal.segmentName(number)
      let bytes = try CheckpointError.wrapping { () -> [UInt8] in
        let file = try SystemFile.openForReading(path: path)
        defer { try? file.close() }
        return try file.readAll()
      }
      guard let damage = JournalFrame.scan(bytes).damage else { continue }
      var copy = path + ".damaged"
      var attempt = 1
      while FileManager.default.fileExists(atPath: copy) {
        attempt += 1
        copy = path + ".damaged.\(attempt)"
      }
      try CheckpointError.wrapping {
        try AtomicFile.write(bytes, to: copy)
        try AtomicFile.write(Array(bytes[..<damage.offset]), to: path)
      }
      cuts.append(Cut(segment: path, damagedCopy: copy, offset: damage.offset, bytesCut: bytes.count - damage.offset,
                      reason: damage.reason))
    }
    return cuts
  }
}
