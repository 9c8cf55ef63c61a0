import Foundation
import Storage

extension Journal {
  /// After `salvage()` (every remaining frame has a valid checksum), makes the journal replay
  /// again where a checksum cannot help; the caller must hold the run's lock:
  ///
  /// - an empty segment (a session that crashed before writing anything) is removed;
  /// - a segment with no complete record, or whose first record is not a readable header, or
  ///   whose header has another session or shard than its file name says (renamed
  ///   or copied in from another journal), or whose header identity differs from the run's (the
  ///   first readable header's), is *set aside*:
  ///   renamed `segment-….log.damaged` (kept for inspection; `replay` ignores it). Its tile
  ///   records cannot be proven to belong to this run, so they are not trusted: their objects
  ///   become orphans and the next `run` computes those tiles again;
  /// - a tile record whose numbers are impossible, or whose (index, I, J) or raw size contradict
  ///   the plan, is cut from its segment (the original kept as `….damaged`).
  ///
  /// - Returns: what was changed, as cuts (an empty segment removed: `damagedCopy` empty).
  /// - Throws: `CheckpointError` (`.failure`) on I/O errors.
  public func setAsideUnprovable() throws -> [Cut] {
    var cuts: [Cut] = []
    var runIdentity: RunIdentity?
    for segment in try segments() {
      let path = directory + "/" + segment.fileName
      let bytes = try Self.segmentBytes(at: path)
      if bytes.isEmpty {
        try CheckpointError.wrapping {
          try SystemFile.remove(path: path)
          try SystemFile.syncDirectory(path: directory)
        }
        cuts.append(Cut(segment: path, damagedCopy: "", offset: 0, bytesCut: 0, reason: "empty segment (a session that ended before writing its header): removed"))
        continue
      }
      let frames = JournalFrame.scan(bytes).frames
      func record(_ frame: JournalFrame.Decoded) -> JournalRecord? { try? JournalRecord(payload: frame.payload) }
      var header: JournalHeader?
      if let first = frames.first, case .header(let value)? = record(first) { header = value }
      var unprovable: String?
      if frames.isEmpty {
        unprovable = "no complete record (\(Plural.count(bytes.count, "byte")), too short for a header)"
      } else if header == nil {
        unprovable = "the first record is not a readable header"
      } else if let header, header.session != segment.number || header.shard != segment.shard {
        // A segment renamed, or copied in from another journal: its place in this run's history is unknown.
        unprovable = "the header says session \(header.session)\(header.shard.map { ", shard \($0)" } ?? ""), the file name session \(segment.number)\(segment.shard.map { ", shard \($0)" } ?? "")"
      } else if let header, header.identity.recordBounds == nil {
        unprovable = "the header's identity is impossible"
      } else if let header, let runIdentity, header.identity != runIdentity {
        unprovable = "the header's identity differs from the run's: \(header.identity.differences(from: runIdentity).joined(separator: ", "))"
      }
      if let unprovable {
        let copy = try setAside(path)
        cuts.append(Cut(segment: path, damagedCopy: copy, offset: 0, bytesCut: bytes.count,
                        reason: "\(unprovable): segment set aside, its tiles are computed again by the next run"))
        continue
      }
      guard let identity = header?.identity else { continue }
      if runIdentity == nil { runIdentity = identity }
      // Tile records that contradict the plan.
      var cut: [Range<Int>] = []
      var reasons: [String] = []
      for (k, frame) in frames.enumerated().dropFirst() {
        guard case .tile(let tile)? = record(frame), let bounds = identity.recordBounds,
              let problem = tile.boundsProblem(bounds, cross: identity.isCross) ?? tile.planProblem(identity) ?? tile.planSizeProblem(identity) else { continue }
        let end = k + 1 < frames.count ? frames[k + 1].offset : frame.payload.endIndex
        cut.append(frame.offset..<end)
        reasons.append("tile record at byte \(frame.offset): \(problem)")
      }
      guard let first = cut.first else { continue }
      var kept: [UInt8] = []
      var position = 0
      for range in cut {
        kept += bytes[position..<range.lowerBound]
        position = range.upperBound
      }
      kept += bytes[position...]
      let copy = Self.damagedCopyPath(for: path)
      try CheckpointError.wrapping {
        try AtomicFile.write(bytes, to: copy)
        try AtomicFile.write(kept, to: path)
      }
      cuts.append(Cut(segment: path, damagedCopy: copy, offset: first.lowerBound, bytesCut: bytes.count - kept.count,
                      reason: reasons.joined(separator: "; ")))
    }
    return cuts
  }

  /// The whole of segment file `path`.
  ///
  /// - Throws: `CheckpointError` (`.failure`) on I/O errors.
  static func segmentBytes(at path: String) throws -> [UInt8] {
    try CheckpointError.wrapping { () -> [UInt8] in
      let file = try SystemFile.openForReading(path: path)
      defer { try? file.close() }
      return try file.readAll()
    }
  }

  /// Renames segment `path` to its first free `.damaged` name (`damagedCopyPath`) and syncs the
  /// journal directory; returns the new path. Its records are no longer replayed.
  ///
  /// - Throws: `CheckpointError` (`.failure`) on I/O errors.
  func setAside(_ path: String) throws -> String {
    let copy = Self.damagedCopyPath(for: path)
    try CheckpointError.wrapping {
      try SystemFile.rename(from: path, to: copy)
      try SystemFile.syncDirectory(path: directory)
    }
    return copy
  }

  /// `path.damaged`, or `path.damaged.2`, … — the first that does not exist.
  static func damagedCopyPath(for path: String) -> String {
    var copy = path + ".damaged"
    var attempt = 1
    while FileManager.default.fileExists(atPath: copy) {
      attempt += 1
      copy = path + ".damaged.\(attempt)"
    }
    return copy
  }
}
