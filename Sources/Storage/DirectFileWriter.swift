#if canImport(Glibc)
import Glibc
#endif

/// Writes a new file sequentially past the page cache (`O_DIRECT`) where the file system allows
/// it, for the large objects of a run: on the machines measured, buffered writes of a 3.5 GB
/// frame ran at about a fifth of the device's speed (page-cache allocation and dirty-page
/// throttling), direct writes at its speed.
///
/// O_DIRECT needs the buffer address, the length and the file offset aligned to the device's
/// logical block size (`SystemFile.directAlignment`); pieces that are not, are gathered in an
/// aligned staging buffer. The last, unaligned bytes are written after O_DIRECT is turned off.
/// On a file system without O_DIRECT (tmpfs: `EINVAL`) every piece is written as given.
/// Durability is unchanged: the caller still `fsync`s the file (the device's cache, the metadata).
public final class DirectFileWriter {
  /// The file written.
  public let file: SystemFile
  /// Whether O_DIRECT is on (false: ordinary buffered writes).
  public private(set) var isDirect: Bool
  private let staging: UnsafeMutableRawBufferPointer
  private var staged = 0

  /// Bytes gathered before an aligned write (a multiple of `SystemFile.directAlignment`).
  public static let stagingBytes = 8 << 20

  /// A writer to `file` (just created, empty), trying O_DIRECT if `direct` (for small files
  /// it gains nothing).
  ///
  /// - Throws: `StorageError` (`.ioFailure`) if `fcntl` fails other than by refusing O_DIRECT.
  public init(file: SystemFile, direct: Bool = true) throws {
    self.file = file
    isDirect = direct ? try file.setDirect(true) : false
    staging = UnsafeMutableRawBufferPointer.allocate(byteCount: isDirect ? Self.stagingBytes : 0,
                                                     alignment: SystemFile.directAlignment)
  }

  deinit { staging.deallocate() }

  /// Appends `piece`.
  ///
  /// - Throws: `StorageError` (`.ioFailure`) naming the file, the call and the errno.
  public func write(_ piece: UnsafeRawBufferPointer) throws {
    guard isDirect else { return try file.writeAll(piece) }
    let alignment = SystemFile.directAlignment
    if staged == 0, let base = piece.baseAddress, Int(bitPattern: base) % alignment == 0 {
      let aligned = piece.count - piece.count % alignment
      if aligned > 0 { try file.writeAll(UnsafeRawBufferPointer(rebasing: piece[0..<aligned])) }
      return try gather(UnsafeRawBufferPointer(rebasing: piece[aligned...]))
    }
    try gather(piece)
  }

  /// Writes what is staged: the aligned part directly, the rest after turning O_DIRECT off.
  /// Call once, after the last `write`.
  public func finish() throws {
    guard isDirect else { return }
    let aligned = staged - staged % SystemFile.directAlignment
    if aligned > 0 { try file.writeAll(UnsafeRawBufferPointer(rebasing: staging[0..<aligned])) }
    _ = try file.setDirect(false)
    isDirect = false
    if staged > aligned { try file.writeAll(UnsafeRawBufferPointer(rebasing: staging[aligned..<staged])) }
    staged = 0
  }

  private func gather(_ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    while offset < bytes.count {
      let count = min(bytes.count - offset, staging.count - staged)
      UnsafeMutableRawBufferPointer(rebasing: staging[staged..<(staged + count)])
        .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
      staged += count
      offset += count
      if staged == staging.count {
        try file.writeAll(UnsafeRawBufferPointer(staging))
        staged = 0
      }
    }
  }
}
