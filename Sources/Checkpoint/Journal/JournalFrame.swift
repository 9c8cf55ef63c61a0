import Storage

/// The framing of journal records: `[u32 LE payload length][32-byte SHA-256 of payload][payload]`.
///
/// A segment is a sequence of frames. Reading tells a *torn tail* (the end of the last write of a
/// crashed process) — which is dropped — from *damage* — which is an error naming the segment and
/// byte offset. The rule: a bad frame at offset `o` is a torn tail only if nothing after it could
/// be a record, i.e. it is
///
/// - shorter than its header, or its declared payload runs past the end of the file, or its
///   checksum fails on the very last frame, or the rest of the file is zero bytes, **and**
/// - no complete frame with a valid checksum starts anywhere after `o`.
///
/// Anything else — an impossible length, a checksum failure followed by more data, or a valid
/// frame found after the bad one (a bit flip in a length field) — is damage.
enum JournalFrame {
  /// Bytes before the payload.
  static let headerSize = 4 + 32
  /// Largest payload accepted; larger declared lengths are damage.
  static let maximumPayload = 1 << 20

  /// One frame around `payload`.
  static func encode(_ payload: [UInt8]) -> [UInt8] {
    let length = UInt32(payload.count)
    var frame: [UInt8] = [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)]
    frame.reserveCapacity(headerSize + payload.count)
    frame += ContentHash.sha256(payload).digestBytes
    frame += payload
    return frame
  }

  /// A frame's payload and where it starts in the segment.
  struct Decoded {
    var offset: Int
    var payload: ArraySlice<UInt8>
  }

  /// Damage found in a segment: the byte offset of the first bad frame and what is wrong.
  struct Damage: Equatable {
    var offset: Int
    var reason: String
  }

  /// The frames of a segment and how it ends.
  struct Segment {
    /// The valid frames before any torn tail or damage.
    var frames: [Decoded]
    /// Byte offset where an ignored torn tail starts (`nil` if the segment ends cleanly or is damaged).
    var tornTailOffset: Int?
    /// Damage before the end (`nil` if none).
    var damage: Damage?
  }

  /// Splits a segment's bytes into frames, reporting damage instead of throwing (used by `repair`).
  static func scan(_ bytes: [UInt8]) -> Segment {
    var frames: [Decoded] = []
    var offset = 0
    func torn(_ at: Int, _ reason: String) -> Segment {
      if let later = firstValidFrame(in: bytes, after: at) {
        return Segment(frames: frames, tornTailOffset: nil,
                       damage: Damage(offset: at, reason: "\(reason), but a valid record follows at byte \(later)"))
      }
      return Segment(frames: frames, tornTailOffset: at, damage: nil)
    }
    while offset < bytes.count {
      if bytes[offset...].allSatisfy({ $0 == 0 }) { return Segment(frames: frames, tornTailOffset: offset, damage: nil) }
      let remaining = bytes.count - offset
      if remaining < headerSize { return torn(offset, "short frame header") }
      let length = declaredLength(bytes, at: offset)
      guard length > 0, length <= maximumPayload else {
        return Segment(frames: frames, tornTailOffset: nil,
                       damage: Damage(offset: offset, reason: "impossible length \(length) (expected 1…\(maximumPayload))"))
      }
      if remaining < headerSize + length { return torn(offset, "declared length \(length) runs past the end of the file") }
      guard checksumMatches(bytes, at: offset, length: length) else {
        let end = offset + headerSize + length
        if end == bytes.count { return torn(offset, "checksum mismatch") }
        return Segment(frames: frames, tornTailOffset: nil,
                       damage: Damage(offset: offset, reason: "checksum mismatch, followed by \(bytes.count - end) more bytes"))
      }
      frames.append(Decoded(offset: offset, payload: bytes[(offset + headerSize)..<(offset + headerSize + length)]))
      offset += headerSize + length
    }
    return Segment(frames: frames, tornTailOffset: nil, damage: nil)
  }

  /// Splits a segment's bytes into frames.
  ///
  /// - Throws: `CheckpointError` (`.damaged`) naming `name` and the byte offset of a damaged
  ///   frame (see the type's torn-tail rule).
  static func decode(_ bytes: [UInt8], name: String) throws -> Segment {
    let segment = scan(bytes)
    if let damage = segment.damage {
      if damage.offset == 0 {
        // The first record is the segment's header: without it no record of the segment can be
        // trusted, and `repair` sets the whole segment aside (Journal+Salvage).
        throw CheckpointError(.damaged, "\(name): damaged journal header (the segment's first record, byte 0): \(damage.reason); run `ntkbatch repair` to set the whole segment aside (all of its tiles are computed again)")
      }
      throw CheckpointError(.damaged, "\(name): damaged journal record at byte \(damage.offset): \(damage.reason); run `ntkbatch repair` to remove the damaged record (its tile is computed again)")
    }
    return segment
  }

  private static func declaredLength(_ bytes: [UInt8], at offset: Int) -> Int {
    Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
  }

  private static func checksumMatches(_ bytes: [UInt8], at offset: Int, length: Int) -> Bool {
    let payloadStart = offset + headerSize
    return bytes[payloadStart..<(payloadStart + length)].withContiguousStorageIfAvailable { payload in
      ContentHash.sha256(UnsafeRawBufferPointer(payload)).digestBytes.elementsEqual(bytes[(offset + 4)..<payloadStart])
    } ?? false
  }

  /// The offset of the first complete frame with a valid checksum starting after `offset`, if
  /// any. Payloads are JSON objects, so only candidates whose payload starts with `{` are hashed.
  static func firstValidFrame(in bytes: [UInt8], after offset: Int) -> Int? {
    var candidate = offset + 1
    while candidate + headerSize < bytes.count {
      let length = declaredLength(bytes, at: candidate)
      if length > 0, length <= maximumPayload, candidate + headerSize + length <= bytes.count,
         bytes[candidate + headerSize] == UInt8(ascii: "{"), checksumMatches(bytes, at: candidate, length: length) {
        return candidate
      }
      candidate += 1
    }
    return nil
  }
}
