/// The name of a journal segment file:
///
///     segment-NNNNNN.log                      an unsharded session (NNNNNN = session number)
///     segment-NNNNNN.shard-K-of-N.XXXXXXXX.log  a session of shard K of N; XXXXXXXX = 8 random
///                                             hex digits (the session id)
///
/// A session's number is one past the highest number it found when it opened, so segments replay
/// in the order sessions started (shards opening at the same time share a number and are told
/// apart by shard and session id). Names are unique without any lock: two shards differ in their
/// tag, two copies of one shard (on two machines where `flock` is not coherent) in their random id.
public struct JournalSegmentName: Comparable, Hashable, Sendable {
  /// The session number (≥ 1).
  public var number: Int
  /// The shard, `nil` for an unsharded session.
  public var shard: ShardSpec?
  /// The random session id of a shard's segment.
  public var sessionID: String?

  public init(number: Int, shard: ShardSpec?, sessionID: String?) {
    self.number = number
    self.shard = shard
    self.sessionID = sessionID
  }

  /// The file name.
  public var fileName: String {
    let digits = String(number)
    let padded = String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    guard let shard, let sessionID else { return "segment-" + padded + ".log" }
    return "segment-\(padded).\(shard.tag).\(sessionID).log"
  }

  /// Parses a file name; `nil` for anything else (`….damaged` copies, temporary files).
  public init?(fileName name: String) {
    guard name.hasPrefix("segment-"), name.hasSuffix(".log"), name.allSatisfy(\.isASCII) else { return nil }
    let parts = name.dropFirst("segment-".count).dropLast(".log".count).split(separator: ".", omittingEmptySubsequences: false)
    guard let first = parts.first, first.count >= 6, first.allSatisfy(\.isNumber), let number = Int(first), number > 0 else { return nil }
    switch parts.count {
    case 1:
      self.init(number: number, shard: nil, sessionID: nil)
    case 3:
      let tag = parts[1].split(separator: "-")
      guard tag.count == 4, tag[0] == "shard", tag[2] == "of", let k = Int(tag[1]), let n = Int(tag[3]),
            let shard = try? ShardSpec(index: k, count: n), parts[2].count == 8, parts[2].allSatisfy(\.isHexDigit) else { return nil }
      self.init(number: number, shard: shard, sessionID: String(parts[2]))
    default:
      return nil
    }
    guard fileName == name else { return nil }
  }

  public static func < (a: JournalSegmentName, b: JournalSegmentName) -> Bool {
    a.number != b.number ? a.number < b.number : a.fileName < b.fileName
  }
}
