import Storage

/// The framing of journal records: `[u32 LE payload length][32-byte SHA-256 of payload][payload]`.
///
/// A segment is a sequence of frames. Reading tells a *torn tail* (the end of the last write of a
/// crashed process: a short length, a short payload, a bad checksum on the very last frame, or
/// trailing zero bytes) — which is dropped — from *damage* (a bad frame followed by more data) —
/// which is an error naming the segment and byte offset.
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

  /// The frames of a segment and the torn tail, if any.
  struct Segment {
    var frames: [Decoded]
    /// Byte offset where an ignored torn tail starts (`nil` if the segment ends cleanly).
    var tornTailOffset: Int?
  }

  /// Splits a segment's bytes into frames.
  ///
  /// - Throws: `CheckpointError` (`.damaged`) naming `name` and the byte offset of a damaged
  ///   frame that is followed by more data, or of an impossible length.
  static func decode(_ bytes: [UInt8], name: String) throws -> Segment {
    var frames: [Decoded] = []
    var offset = 0
    while offset < bytes.count {
      if bytes[offset...].allSatisfy({ $0 == 0 }) { return Segment(frames: frames, tornTailOffset: offset) }
      let remaining = bytes.count - offset
      if remaining < headerSize { return Segment(frames: frames, tornTailOffset: offset) }
      let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
      guard length > 0, length <= maximumPayload else {
        throw CheckpointError(.damaged, "\(name): damaged journal record at byte \(offset): impossible length \(length) (expected 1…\(maximumPayload))")
      }
      if remaining < headerSize + length { return Segment(frames: frames, tornTailOffset: offset) }
      let payloadStart = offset + headerSize
      let payload = bytes[payloadStart..<(payloadStart + length)]
      let checksum = ContentHash.sha256(Array(payload)).digestBytes
      if !checksum.elementsEqual(bytes[(offset + 4)..<payloadStart]) {
        let end = payloadStart + length
        if end == bytes.count { return Segment(frames: frames, tornTailOffset: offset) }
        throw CheckpointError(.damaged, "\(name): damaged journal record at byte \(offset): checksum mismatch, followed by \(bytes.count - end) more bytes")
      }
      frames.append(Decoded(offset: offset, payload: payload))
      offset = payloadStart + length
    }
    return Segment(frames: frames, tornTailOffset: nil)
  }
}
