import Storage

/// A MATLAB level-5 MAT-file (MATLAB 5.0 – 7.2 format, the one `scipy.io.savemat` and MATLAB's
/// `save -v7` write), read whole into memory: the variables it holds, in file order.
///
/// Layout (MathWorks, "MAT-File Format", chapter 1):
/// - a 128-byte header: 116 bytes of descriptive text, 8 bytes of subsystem offset, a 2-byte version
///   (`0x0100`) and the 2-byte endian indicator `"MI"` (bytes `I M` in a little-endian file,
///   `M I` in a big-endian one);
/// - then data elements, each an 8-byte tag (`UInt32` type, `UInt32` byte count) followed by its data
///   padded to 8 bytes, or a 4-byte *small* element (`UInt16` byte count ≤ 4, `UInt16` type, data);
/// - each variable is an `miMATRIX` element with sub-elements array flags, dimensions, name and the
///   real (and, if complex, imaginary) part; `miCOMPRESSED` elements hold zlib-compressed elements
///   (unpadded), typically one `miMATRIX` each.
///
/// Numeric arrays (`double` … `uint64`, `char`, `logical`) are read with their data; cell, struct,
/// object and sparse arrays are listed with their class and dimensions but without data.
public struct MATFile: Sendable {
  /// The header's descriptive text (e.g. `MATLAB 5.0 MAT-file, Platform: ...`), trailing blanks removed.
  public var headerText: String
  /// Whether the file's numbers are big-endian (values are converted to host order when read).
  public var isBigEndian: Bool
  /// The variables, in file order.
  public var variables: [Variable]

  /// The header size in bytes.
  public static let headerBytes = 128

  /// Parses an in-memory MAT-file.
  ///
  /// - Throws: `DatasetError` (`.malformedDataset`) naming `path` for a file shorter than the header, a
  ///   version other than `0x0100`, an unknown endian indicator, a truncated data element, an
  ///   element type that does not belong where it is, a corrupt or truncated compressed element,
  ///   or a data size that disagrees with the array's dimensions.
  public init(bytes: [UInt8], path: String) throws {
    guard bytes.count >= Self.headerBytes else {
      throw DatasetError(path: path, "not a MAT-file: \(Plural.count(bytes.count, "byte")), shorter than the 128-byte level-5 header")
    }
    switch (bytes[126], bytes[127]) {
    case (UInt8(ascii: "I"), UInt8(ascii: "M")): isBigEndian = false
    case (UInt8(ascii: "M"), UInt8(ascii: "I")): isBigEndian = true
    default:
      throw DatasetError(path: path, "not a MATLAB level-5 MAT-file: endian indicator at byte 126 is not \"MI\" or \"IM\"")
    }
    let version = isBigEndian ? UInt16(bytes[124]) << 8 | UInt16(bytes[125]) : UInt16(bytes[125]) << 8 | UInt16(bytes[124])
    guard version == 0x0100 else {
      throw DatasetError(path: path, "unsupported MAT-file version 0x\(String(version, radix: 16)) (expected 0x0100, level 5)")
    }
    let text = bytes[0..<116].prefix { $0 != 0 }
    headerText = String(decoding: text, as: UTF8.self).trimmingTrailingBlanks()
    var reader = ElementReader(bytes: bytes, range: Self.headerBytes..<bytes.count, bigEndian: isBigEndian, path: path, context: "")
    variables = try reader.readVariables(depth: 0)
  }

  /// Reads a MAT-file from disk.
  ///
  /// - Throws: `StorageError` as `FileBytes.read(path:)`; `DatasetError` as `init(bytes:path:)`.
  public static func read(path: String) throws -> MATFile {
    try MATFile(bytes: FileBytes.read(path: path), path: path)
  }

  /// The variable called `name`.
  ///
  /// - Throws: `DatasetError` naming `path` and the variables present when there is none.
  public func variable(named name: String, path: String) throws -> Variable {
    guard let found = variables.first(where: { $0.name == name }) else {
      let names = variables.map(\.name).joined(separator: ", ")
      throw DatasetError(path: path, "no variable '\(name)' in the MAT-file (found: \(names.isEmpty ? "none" : names))")
    }
    return found
  }
}

extension String {
  fileprivate func trimmingTrailingBlanks() -> String {
    var result = self
    while let last = result.last, last == " " || last == "\n" || last == "\0" { result.removeLast() }
    return result
  }
}
