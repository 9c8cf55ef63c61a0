import Foundation
import Storage

/// The run's append-only journal in `RUN/journal/`: one segment file per session
/// (`segment-000001.log`, `segment-000002.log`, …), each a sequence of `JournalFrame`s whose JSON
/// payloads are a `JournalHeader` first, then `TileRecord`s.
///
/// A tile counts as done exactly when its record is in the journal (appended and fsynced after
/// its object is durable). Every session starts a new segment, so nothing is ever appended after
/// a torn tail. Replaying reads all segments in order: torn tails are dropped; damage before the
/// end of a segment, a segment that does not start with its header, headers that disagree, or a
/// tile journaled twice (without a `TileDrop` record in between, written by `repair`) are errors.
public struct Journal: Sendable {
  /// Version written in every header.
  public static let formatVersion = 1

  /// The `journal` directory.
  public let directory: String

  public init(directory: String) {
    self.directory = directory
  }

  /// File name of segment `number`.
  public static func segmentName(_ number: Int) -> String {
    let digits = String(number)
    return "segment-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".log"
  }

  /// Segment numbers present, ascending.
  public func segmentNumbers() throws -> [Int] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else { return [] }
    let names: [String]
    do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
      throw CheckpointError(.failure, "\(directory): cannot list the journal: \(error.localizedDescription)")
    }
    return names.compactMap { name -> Int? in
      guard name.hasPrefix("segment-"), name.hasSuffix(".log") else { return nil }
      let number = name.dropFirst("segment-".count).dropLast(".log".count)
      guard number.count >= 6, number.allSatisfy(\.isASCII), let value = Int(number), value > 0,
            Journal.segmentName(value) == name else { return nil }
      return value
    }.sorted()
  }

  /// Reads every segment.
  ///
  /// - Throws: `CheckpointError` (`.damaged`) naming the segment file and byte offset;
  ///   (`.failure`) when a segment cannot be read.
  public func replay() throws -> JournalReplay {
    var replay = JournalReplay()
    var firstSeen: [Int: (segment: String, offset: Int)] = [:]
    for number in try segmentNumbers() {
      let name = directory + "/" + Journal.segmentName(number)
      let bytes = try CheckpointError.wrapping { try SystemFile.openForReading(path: name) }.readAllClosing(name)
      let segment = try JournalFrame.decode(bytes, name: name)
      var summary = JournalReplay.Segment(number: number, path: name, header: nil, tileCount: 0, lastTile: nil, tornTailOffset: segment.tornTailOffset, byteCount: bytes.count)
      for frame in segment.frames {
        let payload: JournalPayload
        do { payload = try JSONDecoder().decode(JournalPayload.self, from: Data(frame.payload)) } catch {
          throw CheckpointError(.damaged, "\(name): journal record at byte \(frame.offset) has a valid checksum but is not a journal record")
        }
        switch (payload.kind, payload.header, payload.tile, payload.drop) {
        case ("header", let header?, nil, nil):
          guard frame.offset == 0 else {
            throw CheckpointError(.damaged, "\(name): second header record at byte \(frame.offset)")
          }
          guard header.formatVersion == Journal.formatVersion else {
            throw CheckpointError(.damaged, "\(name): journal format version \(header.formatVersion), this ntkbatch reads version \(Journal.formatVersion)")
          }
          guard header.session == number else {
            throw CheckpointError(.damaged, "\(name): header says session \(header.session), expected \(number)")
          }
          if let first = replay.headers.first, first.identity != header.identity {
            throw CheckpointError(.damaged, "\(name): header identity differs from the first session's: \(header.identity.differences(from: first.identity).joined(separator: ", "))")
          }
          guard header.identity.recordBounds != nil else {
            throw CheckpointError(.damaged, "\(name): header at byte 0: impossible identity (n = \(header.identity.sampleCount), tileSamples = \(header.identity.tileSamples), outputs per sample = \(header.identity.outputsPerSample))")
          }
          summary.header = header
          replay.headers.append(header)
        case ("tile", nil, let tile?, nil):
          guard summary.header != nil else {
            throw CheckpointError(.damaged, "\(name): tile record at byte \(frame.offset) before the segment's header")
          }
          if let bounds = summary.header?.identity.recordBounds, let problem = tile.boundsProblem(bounds) {
            throw CheckpointError(.damaged, "\(name): tile record at byte \(frame.offset): \(problem)")
          }
          if let previous = firstSeen[tile.index] {
            throw CheckpointError(.damaged, "\(name): tile \(tile.index) (I=\(tile.rowBlock), J=\(tile.columnBlock)) journaled twice: at byte \(frame.offset) and in \(previous.segment) at byte \(previous.offset)")
          }
          firstSeen[tile.index] = (name, frame.offset)
          replay.tiles[tile.index] = tile
          summary.tileCount += 1
          summary.lastTile = tile
        case ("drop", nil, nil, let drop?):
          guard summary.header != nil else {
            throw CheckpointError(.damaged, "\(name): drop record at byte \(frame.offset) before the segment's header")
          }
          guard replay.tiles[drop.index]?.object == drop.object else {
            throw CheckpointError(.damaged, "\(name): drop record at byte \(frame.offset) names tile \(drop.index), which is not journaled with object \(drop.object.hex.prefix(12))…")
          }
          replay.tiles[drop.index] = nil
          firstSeen[drop.index] = nil
          replay.drops.append(drop)
        default:
          throw CheckpointError(.damaged, "\(name): journal record at byte \(frame.offset) has unknown kind \"\(payload.kind.prefix(40))\"")
        }
      }
      replay.segments.append(summary)
    }
    return replay
  }

  /// Starts the next session: creates segment `header.session` (which must be one past the last
  /// existing segment), writes and fsyncs the header record, and fsyncs the journal directory.
  ///
  /// - Throws: `CheckpointError` (`.failure`) on I/O errors (the message names ENOSPC/EIO).
  public func beginSession(_ header: JournalHeader) throws -> JournalWriter {
    try CheckpointError.wrapping {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
    let path = directory + "/" + Journal.segmentName(header.session)
    let file = try CheckpointError.wrapping { try SystemFile.create(path: path, exclusive: true) }
    let writer = JournalWriter(file: file)
    try writer.append(.header(header))
    try CheckpointError.wrapping { try SystemFile.syncDirectory(path: directory) }
    return writer
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
  }

  /// Segments in order.
  public var segments: [Segment] = []
  /// Headers of the segments that have one, in order (all with the same identity).
  public var headers: [JournalHeader] = []
  /// Journaled tiles by plan index (minus dropped ones).
  public var tiles: [Int: TileRecord] = [:]
  /// Drop records (tiles whose object `repair` found missing or damaged), in order.
  public var drops: [TileDrop] = []

  /// The run's identity, from the first header (`nil` for a new run).
  public var identity: RunIdentity? { headers.first?.identity }

  /// The number of the next session (one past the last segment).
  public var nextSession: Int { (segments.last?.number ?? 0) + 1 }
}
