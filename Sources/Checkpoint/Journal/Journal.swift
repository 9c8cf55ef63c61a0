import Foundation
import Storage

/// The run's append-only journal in `RUN/journal/`: one segment file per session, each a
/// sequence of `JournalFrame`s whose JSON payloads are a `JournalHeader` first, then `TileRecord`s
/// (and `TileDrop`s).
///
/// Segment names (`JournalSegmentName`): `segment-000001.log`, `segment-000002.log`, … for
/// unsharded sessions; `segment-000003.shard-2-of-4.9f3c01ab.log` for a session of shard 2 of 4,
/// with a random session id, so that shards writing at the same time — on any machine — never
/// share a file, without relying on a lock.
///
/// A tile counts as done exactly when its record is in the journal (appended and fsynced after
/// its object is durable). Every session that records something starts a new segment, so nothing
/// is ever appended after a torn tail. Replaying reads the union of all segments in order (number, then name): torn tails
/// are dropped — only a writer's newest segment may end before its header is complete, an earlier
/// one of the same writer (shard, or unsharded sessions) so cut is damage; two records of the same tile with the same object are a harmless *duplicate*
/// (counted, and removed by `repair`); two records of one tile with different objects are an error
/// naming both segments; damage before the end of a segment, a segment that does not start with
/// its header, or headers that disagree are errors.
public struct Journal: Sendable {
  /// Version written in every header.
  public static let formatVersion = 1

  /// The `journal` directory.
  public let directory: String

  public init(directory: String) {
    self.directory = directory
  }

  /// File name of unsharded segment `number`.
  public static func segmentName(_ number: Int) -> String {
    JournalSegmentName(number: number, shard: nil, sessionID: nil).fileName
  }

  /// Segments present, in replay order (number, then file name).
  public func segments() throws -> [JournalSegmentName] {
    try fileNames().compactMap(JournalSegmentName.init(fileName:)).sorted()
  }

  /// The names of every file in the journal directory (none when it does not exist).
  ///
  /// - Throws: `CheckpointError` (`.failure`) if the directory cannot be listed.
  func fileNames() throws -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else { return [] }
    do { return try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
      throw CheckpointError(.failure, "\(directory): cannot list the journal: \(error.localizedDescription)")
    }
  }

  /// Reads the union of every segment.
  ///
  /// - Throws: `CheckpointError` (`.damaged`) naming the segment file and byte offset, or both
  ///   segments of a tile journaled with two different objects, or a segment cut short before its
  ///   header while a later segment of its writer exists; (`.failure`) when a segment cannot be
  ///   read.
  public func replay() throws -> JournalReplay {
    var replay = JournalReplay()
    var firstSeen: [Int: (segment: String, offset: Int)] = [:]
    for segmentName in try segments() {
      let number = segmentName.number
      let name = directory + "/" + segmentName.fileName
      let bytes = try CheckpointError.wrapping { try SystemFile.openForReading(path: name) }.readAllClosing(name)
      let segment = try JournalFrame.decode(bytes, name: name)
      var summary = JournalReplay.Segment(number: number, path: name, header: nil, tileCount: 0, lastTile: nil, tornTailOffset: segment.tornTailOffset, byteCount: bytes.count)
      summary.shard = segmentName.shard
      for frame in segment.frames {
        let record: JournalRecord
        do { record = try JournalRecord(payload: frame.payload) } catch let unknown as JournalRecord.UnknownKind {
          throw CheckpointError(.damaged, "\(name): journal record at byte \(frame.offset) has unknown kind \"\(unknown.kind.prefix(40))\"")
        } catch {
          // Its payload starts after the frame's length and checksum.
          let syntax = JSONSyntax.firstProblem(in: Array(frame.payload)).map {
            " (its payload is not valid JSON: \($0.what) at byte \(frame.offset + JournalFrame.headerSize + $0.offset) of the segment)"
          } ?? ""
          throw CheckpointError(.damaged, "\(name): journal record at byte \(frame.offset) has a valid checksum but is not a journal record\(syntax)")
        }
        switch record {
        case .header(let header):
          guard frame.offset == 0 else {
            throw CheckpointError(.damaged, "\(name): second header record at byte \(frame.offset)")
          }
          guard header.formatVersion == Journal.formatVersion else {
            throw CheckpointError(.damaged, "\(name): journal format version \(header.formatVersion), this ntkbatch reads version \(Journal.formatVersion)")
          }
          guard header.session == number else {
            throw CheckpointError(.damaged, "\(name): header says session \(header.session), expected \(number) (a segment renamed or copied from another journal?); `ntkbatch repair` sets it aside")
          }
          guard header.shard == segmentName.shard else {
            throw CheckpointError(.damaged, "\(name): header says \(header.shard.map { "shard \($0)" } ?? "unsharded"), the file name \(segmentName.shard.map { "shard \($0)" } ?? "unsharded") (a segment renamed or copied from another journal?); `ntkbatch repair` sets it aside")
          }
          if let first = replay.headers.first, first.identity != header.identity {
            throw CheckpointError(.damaged, "\(name): header identity differs from the first session's: \(header.identity.differences(from: first.identity).joined(separator: ", ")) (a segment copied in from another run?); `ntkbatch repair` sets it aside")
          }
          guard header.identity.recordBounds != nil else {
            throw CheckpointError(.damaged, "\(name): header at byte 0: impossible identity (n = \(header.identity.sampleCount), tileSamples = \(header.identity.tileSamples), outputs per sample = \(header.identity.outputsPerSample))")
          }
          summary.header = header
          replay.headers.append(header)
        case .tile(let tile):
          guard summary.header != nil else {
            throw CheckpointError(.damaged, "\(name): tile record at byte \(frame.offset) before the segment's header")
          }
          if let identity = summary.header?.identity, let bounds = identity.recordBounds,
             let problem = tile.boundsProblem(bounds, cross: identity.isCross) ?? tile.planProblem(identity) {
            throw CheckpointError(.damaged, "\(name): tile record at byte \(frame.offset): \(problem); `ntkbatch repair` removes it")
          }
          if let previous = firstSeen[tile.index], let existing = replay.tiles[tile.index] {
            guard existing.object == tile.object else {
              throw CheckpointError(.damaged, "\(name): tile \(tile.index) (I=\(tile.rowBlock), J=\(tile.columnBlock)) journaled twice with different objects: \(tile.object.hex.prefix(12))… at byte \(frame.offset) and \(existing.object.hex.prefix(12))… in \(previous.segment) at byte \(previous.offset); sessions with different OPENBLAS_NUM_THREADS compute tiles equal only to rounding: `ntkbatch repair` keeps the earliest record and withdraws the other")
            }
            replay.duplicates.append(JournalReplay.Duplicate(record: tile, segment: name, offset: frame.offset, firstSegment: previous.segment))
          } else {
            firstSeen[tile.index] = (name, frame.offset)
            replay.tiles[tile.index] = tile
          }
          summary.tileCount += 1
          summary.lastTile = tile
        case .drop(let drop):
          guard summary.header != nil else {
            throw CheckpointError(.damaged, "\(name): drop record at byte \(frame.offset) before the segment's header")
          }
          guard replay.tiles[drop.index]?.object == drop.object else {
            throw CheckpointError(.damaged, "\(name): drop record at byte \(frame.offset) names tile \(drop.index), which is not journaled with object \(drop.object.hex.prefix(12))…")
          }
          replay.tiles[drop.index] = nil
          firstSeen[drop.index] = nil
          replay.drops.append(drop)
        }
      }
      replay.segments.append(summary)
    }
    // Only a writer's newest segment may end before its header (`setAsideHeaderlessSegments`).
    for segment in replay.segments where segment.header == nil && segment.byteCount > 0 {
      if let later = replay.segments.first(where: { $0.shard == segment.shard && $0.number > segment.number }) {
        throw Self.headerlessSegmentDamage(segment, laterSegment: later)
      }
    }
    return replay
  }

  /// Starts a session: sets aside the segments of the same writer (`header.shard`, or unsharded
  /// sessions) that ended before their header (`setAsideHeaderlessSegments(of:)`, listed in the
  /// writer's `setAsideSegments`), creates its segment (named from `header`: `header.session`, and
  /// for a shard its tag and `header.sessionID`) exclusively, writes and fsyncs the header record,
  /// and fsyncs the journal directory. The caller holds the writer's lock.
  ///
  /// - Throws: `CheckpointError` (`.failure`) on I/O errors (the message names ENOSPC/EIO), or if
  ///   the segment exists already.
  public func beginSession(_ header: JournalHeader) throws -> JournalWriter {
    try CheckpointError.wrapping { try SystemFile.createDirectoryDurably(path: directory) }
    let setAside = try setAsideHeaderlessSegments(of: header.shard)
    let path = segmentPath(of: header)
    let file = try CheckpointError.wrapping { try SystemFile.create(path: path, exclusive: true) }
    let writer = JournalWriter(file: file, setAsideSegments: setAside)
    try writer.append(.header(header))
    try CheckpointError.wrapping { try SystemFile.syncDirectory(path: directory) }
    return writer
  }
}

extension Journal {
  /// The segment a session with `header` writes: `header.session`, and for a shard its tag and
  /// `header.sessionID`.
  public func segmentPath(of header: JournalHeader) -> String {
    directory + "/" + JournalSegmentName(number: header.session, shard: header.shard, sessionID: header.shard == nil ? nil : header.sessionID).fileName
  }
}

extension SystemFile {
  /// Reads the whole file, then closes it.
  fileprivate func readAllClosing(_ name: String) throws -> [UInt8] {
    defer { try? close() }
    return try CheckpointError.wrapping { try readAll() }
  }
}

/// What replaying the journal found.
public struct JournalReplay: Sendable {
  /// One segment's summary.
  public struct Segment: Sendable {
    /// Segment (= session) number.
    public var number: Int
    /// The segment file.
    public var path: String
    /// Its header, `nil` if the session crashed before the header was complete.
    public var header: JournalHeader?
    /// Tile records in it.
    public var tileCount: Int
    /// Its last tile record: the tile written just before the session ended (or crashed).
    public var lastTile: TileRecord?
    /// Byte offset of an ignored torn tail, if any.
    public var tornTailOffset: Int?
    /// File size in bytes.
    public var byteCount: Int
    /// The shard that wrote it (`nil`: an unsharded session).
    public var shard: ShardSpec? = nil
  }

  /// Segments in order.
  public var segments: [Segment] = []
  /// Headers of the segments that have one, in order (all with the same identity).
  public var headers: [JournalHeader] = []
  /// Journaled tiles by plan index (minus dropped ones).
  public var tiles: [Int: TileRecord] = [:]
  /// Drop records (tiles whose object `repair` found missing or damaged), in order.
  public var drops: [TileDrop] = []
  /// Records of a tile already journaled with the same object (e.g. a shard run twice at once
  /// where `flock` is not coherent): harmless, removed by `repair`.
  public var duplicates: [Duplicate] = []

  /// A second record of a journaled tile, with the same object.
  public struct Duplicate: Sendable {
    /// The duplicate record.
    public var record: TileRecord
    /// Its segment file and byte offset.
    public var segment: String
    public var offset: Int
    /// The segment where the tile was first journaled.
    public var firstSegment: String
  }

  /// The run's identity, from the first header (`nil` for a new run).
  public var identity: RunIdentity? { headers.first?.identity }

  /// The number of the next session (one past the highest segment number).
  public var nextSession: Int { (segments.map(\.number).max() ?? 0) + 1 }
}
