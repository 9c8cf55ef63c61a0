import Foundation
import Storage

extension Journal {
  /// A tile record `withdrawConflicts` removed: the tile was journaled earlier with another object.
  public struct ConflictWithdrawal: Codable, Equatable, Sendable {
    /// The segment the record was removed from.
    public var segment: String
    /// Byte offset of the removed record (in the segment as it was).
    public var offset: Int
    /// Plan index of the tile.
    public var index: Int
    /// The object of the removed record (an orphan afterwards, unless another record names it).
    public var withdrawn: ContentHash
    /// The object of the record kept (the earliest in replay order), and its segment.
    public var kept: ContentHash
    public var keptSegment: String
  }

  /// Makes a journal replay again where one tile is journaled with two different objects (which
  /// `replay` refuses): keeps the earliest record of the tile in replay order (segment number,
  /// then name; within a segment, byte order) and removes every later record of it with another
  /// object from its segment. Such records arise when two sessions of one run computed the same
  /// tile with different `OPENBLAS_NUM_THREADS` (e.g. overlapping shards): OpenBLAS partitions a
  /// GEMM's sums by thread count, so both objects are valid computations of the tile, equal to
  /// rounding (not byte for byte); keeping the earliest is a deterministic choice.
  ///
  /// A drop record (`TileDrop`) naming the kept object withdraws it as in `replay`, so a tile
  /// dropped and computed again is not a conflict. Each changed segment is replaced atomically
  /// (temporary file, fsync, rename, fsync of the directory). Run after `salvage()`; the caller
  /// must hold the run's lock.
  ///
  /// - Returns: the records removed, in replay order (empty when no tile conflicts).
  /// - Throws: `CheckpointError` (`.failure`) on I/O errors.
  public func withdrawConflicts() throws -> [ConflictWithdrawal] {
    var journaled: [Int: (object: ContentHash, segment: String)] = [:]
    var withdrawals: [ConflictWithdrawal] = []
    for segment in try segments() {
      let path = directory + "/" + segment.fileName
      let bytes = try Self.segmentBytes(at: path)
      var cut: [Range<Int>] = []
      for frame in JournalFrame.scan(bytes).frames {
        switch try? JournalRecord(payload: frame.payload) {
        case .tile(let tile):
          guard let existing = journaled[tile.index] else {
            journaled[tile.index] = (tile.object, path)
            continue
          }
          guard existing.object != tile.object else { continue }
          cut.append(frame.offset..<frame.payload.endIndex)
          withdrawals.append(ConflictWithdrawal(segment: path, offset: frame.offset, index: tile.index, withdrawn: tile.object,
                                                kept: existing.object, keptSegment: existing.segment))
        case .drop(let drop) where journaled[drop.index]?.object == drop.object:
          journaled[drop.index] = nil
        default:
          continue
        }
      }
      guard !cut.isEmpty else { continue }
      var kept: [UInt8] = []
      kept.reserveCapacity(bytes.count)
      var position = 0
      for range in cut {
        kept += bytes[position..<range.lowerBound]
        position = range.upperBound
      }
      kept += bytes[position...]
      try CheckpointError.wrapping { try AtomicFile.write(kept, to: path) }
    }
    return withdrawals
  }
}
