import Foundation
import Storage

/// Appends records to one journal segment: each append is a single `pwrite` of one frame
/// followed by `fsync`, so when `append` returns the record survives a crash.
///
/// After a failed append the segment is truncated back to its last complete record (best effort)
/// and the writer refuses further appends: the session must end, and the next one starts a new
/// segment.
public final class JournalWriter {
  private let file: SystemFile
  private var endOffset: Int64 = 0
  private var broken = false
  private var closed = false
  /// The segments of this writer that ended before their header, set aside as the session began
  /// (`Journal.beginSession`).
  public let setAsideSegments: [Journal.SetAsideSegment]

  init(file: SystemFile, setAsideSegments: [Journal.SetAsideSegment] = []) {
    self.file = file
    self.setAsideSegments = setAsideSegments
  }

  deinit { close() }

  /// The segment file.
  public var path: String { file.path }

  /// Appends and fsyncs a tile record.
  ///
  /// - Throws: `CheckpointError` (`.failure`) if writing or syncing fails, or a previous append failed.
  public func append(_ record: TileRecord) throws {
    try append(.tile(record))
  }

  /// Appends and fsyncs a drop record.
  public func append(_ drop: TileDrop) throws {
    try append(.drop(drop))
  }

  /// Appends and fsyncs any record (the header: `Journal.beginSession`).
  func append(_ record: JournalRecord) throws {
    guard !broken, !closed else {
      throw CheckpointError(.failure, "\(file.path): journal segment is closed after an earlier failure")
    }
    let frame = JournalFrame.encode(try record.payload())
    do {
      try CheckpointError.wrapping {
        try frame.withUnsafeBytes { try file.writeAll($0, atOffset: endOffset) }
        try file.sync()
      }
    } catch {
      broken = true
      try? file.resize(to: endOffset)
      try? file.sync()
      throw error
    }
    endOffset += Int64(frame.count)
  }

  /// Closes the segment (records are already durable).
  public func close() {
    guard !closed else { return }
    closed = true
    try? file.close()
  }
}
