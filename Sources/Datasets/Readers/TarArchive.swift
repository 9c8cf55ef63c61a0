import Storage

/// A tar archive held in memory, read-only: the member list and each member's bytes.
///
/// Format: POSIX.1-1988 ustar (IEEE Std 1003.1, "pax" utility, ustar interchange format) with the
/// GNU extensions found in real dataset archives: `"ustar  "` magic, long names (type `L`), base-256
/// sizes, and pax extended headers (type `x`, only `path` and `size` are honoured). Each member is
/// a 512-byte header followed by its data padded to 512 bytes; the archive ends with zero blocks.
/// Used for `cifar-10-binary.tar.gz` (gunzip it first, e.g. with `read(path:)`).
public struct TarArchive: Sendable {
  /// One archive member.
  public struct Member: Equatable, Sendable {
    /// Path inside the archive, without a leading `./` or a trailing `/`.
    public var name: String
    /// Type flag byte (`0` or NUL: regular file, `5`: directory, …).
    public var typeFlag: UInt8
    /// Data size in bytes.
    public var size: Int
    /// Offset of the data in the archive bytes.
    public var dataOffset: Int

    /// Whether the member is a regular file.
    public var isRegularFile: Bool { typeFlag == UInt8(ascii: "0") || typeFlag == 0 || typeFlag == UInt8(ascii: "7") }
  }

  /// Block size of the format in bytes.
  public static let blockBytes = 512

  /// The whole (uncompressed) archive.
  public let bytes: [UInt8]
  /// The members in archive order (pax and GNU long-name headers are folded into the member they describe).
  public private(set) var members: [Member] = []
  /// The path used in messages.
  public let path: String

  /// Parses an uncompressed archive.
  ///
  /// - Throws: `DatasetError` (`.malformedDataset`) naming `path` for a header whose checksum or magic is
  ///   wrong, a size field that is not a number, or a member whose data runs past the end
  ///   (truncated archive).
  public init(bytes: [UInt8], path: String) throws {
    self.bytes = bytes
    self.path = path
    members = try readMembers()
  }

  /// Reads an archive from disk, gunzipping it first when it carries the gzip magic.
  ///
  /// - Parameter maxBytes: the most bytes the archive may inflate to (a gzip bomb stops there).
  /// - Throws: `StorageError` as `FileBytes.read(path:)` and `Gzip.decompressIfNeeded`; `DatasetError` as `init(bytes:path:)`.
  public static func read(path: String, maxBytes: Int = 1 << 30) throws -> TarArchive {
    try TarArchive(bytes: Gzip.decompressIfNeeded(bytes: FileBytes.read(path: path), path: path, limit: { _ in maxBytes }), path: path)
  }

  /// The member called `name` (a leading `./` is ignored), if present.
  public func member(named name: String) -> Member? {
    let wanted = Self.normalized(name)
    return members.last { $0.name == wanted }
  }

  /// The bytes of the regular file `name`.
  ///
  /// - Throws: `DatasetError` naming the archive and the member when it is absent or not a regular file.
  public func contents(of name: String) throws -> [UInt8] {
    guard let member = member(named: name) else {
      throw DatasetError(path: path, "archive has no member '\(name)'")
    }
    guard member.isRegularFile else {
      throw DatasetError(path: path, "archive member '\(name)' is not a regular file (type '\(Character(Unicode.Scalar(member.typeFlag)))')")
    }
    return Array(bytes[member.dataOffset..<(member.dataOffset + member.size)])
  }

  static func normalized(_ name: String) -> String {
    var result = Substring(name)
    while result.hasPrefix("./") { result = result.dropFirst(2) }
    while result.count > 1, result.hasSuffix("/") { result = result.dropLast() }
    return String(result)
  }
}
