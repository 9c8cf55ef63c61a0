import Foundation
import Storage

extension Journal {
  /// A segment that ends before its header is complete — some bytes, but not one whole frame
  /// (cut short, or zero bytes where a power loss left the header unwritten) — set aside by a new
  /// session of the same writer (`setAsideHeaderlessSegments(of:)`).
  public struct SetAsideSegment: Equatable, Sendable {
    /// The segment as it was named.
    public var segment: String
    /// Where it is now (`….log.damaged`, kept for inspection; replay ignores it).
    public var copy: String
    /// Its size in bytes.
    public var byteCount: Int
  }

  /// Sets aside the segments of one writer — the shard `shard` (its `K-of-N` tag), or unsharded
  /// sessions (`nil`) — that hold some bytes but no complete header frame, as a new session of that
  /// writer does right before it starts its own segment (`beginSession`).
  ///
  /// Only a writer's newest segment may end torn before its header (its session crashed while
  /// starting, e.g. a power loss before the header was on disk); once a later segment of the
  /// same writer exists, `replay` takes such a segment for damage in the middle of the writer's
  /// journal (a segment cut short, its records lost). So the session that is about to become the
  /// newest sets the crashed one aside first: it holds no record that could be trusted (none
  /// without a header), replay ignores it already, and a legitimate crash never turns into damage.
  /// An empty segment (nothing written, or truncated back after ENOSPC) is left alone: it cannot
  /// be told from nothing, `replay` ignores it wherever it is, and `repair` removes it. The caller
  /// holds the writer's lock.
  ///
  /// - Returns: the segments set aside, in replay order.
  /// - Throws: `CheckpointError` (`.failure`) on I/O errors.
  public func setAsideHeaderlessSegments(of shard: ShardSpec?) throws -> [SetAsideSegment] {
    var setAside: [SetAsideSegment] = []
    for segment in try segments() where segment.shard == shard {
      let path = directory + "/" + segment.fileName
      let bytes = try Self.segmentBytes(at: path)
      let scan = JournalFrame.scan(bytes)
      guard !bytes.isEmpty, scan.frames.isEmpty, scan.damage == nil else { continue }
      setAside.append(SetAsideSegment(segment: path, copy: try self.setAside(path), byteCount: bytes.count))
    }
    return setAside
  }

  /// The damage of a segment that ends before its header (`segment.header == nil`, some bytes)
  /// while a later segment of the same writer exists (`laterSegment`): not the torn tail of a
  /// crashed session — a session's successor sets that aside before starting — but a segment cut
  /// short after later sessions began, whose records are lost.
  static func headerlessSegmentDamage(_ segment: JournalReplay.Segment, laterSegment: JournalReplay.Segment) -> CheckpointError {
    let writer = segment.shard.map { "shard \($0)" } ?? "the unsharded sessions"
    return CheckpointError(.damaged, "\(segment.path): cut short before its header (\(Plural.count(segment.byteCount, "byte")), no complete header record), though \(laterSegment.path), a later segment of the same writer (\(writer)), started after it: damage before the end of that writer's journal, not a crash's torn tail (only a writer's newest segment may end torn), and any tile records it held are lost; run `ntkbatch repair` to set the segment aside (`ntkbatch run` then computes every tile not journaled)")
  }
}
