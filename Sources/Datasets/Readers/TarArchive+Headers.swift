import Storage

extension TarArchive {
  /// Walks the headers from the start of `bytes`.
  func readMembers() throws -> [Member] {
    var members: [Member] = []
    var offset = 0
    var longName: String?
    var paxName: String?
    var paxSize: Int?
    let block = Self.blockBytes
    while offset + block <= bytes.count {
      let header = bytes[offset..<(offset + block)]
      if header.allSatisfy({ $0 == 0 }) { break }  // end-of-archive marker
      try verifyChecksum(header, at: offset)
      let typeFlag = header[offset + 156]
      let headerSize = try number(header, field: 124..<136, name: "size", at: offset)
      let size = paxSize ?? headerSize
      let dataOffset = offset + block
      guard size <= bytes.count - dataOffset else {
        throw DatasetError(path: path, "truncated tar archive: member at byte \(offset) declares \(Plural.count(size, "byte")), \(bytes.count - dataOffset) remain")
      }
      let data = bytes[dataOffset..<(dataOffset + size)]
      switch typeFlag {
      case UInt8(ascii: "L"):  // GNU long name of the next member
        longName = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
      case UInt8(ascii: "x"):  // pax extended header of the next member
        (paxName, paxSize) = try paxRecords(data, at: offset)
      case UInt8(ascii: "g"):  // pax global header: nothing ntkbatch needs
        break
      default:
        let name = paxName ?? longName ?? headerName(header, at: offset)
        members.append(Member(name: Self.normalized(name), typeFlag: typeFlag, size: size, dataOffset: dataOffset))
        longName = nil
        paxName = nil
        paxSize = nil
      }
      offset = dataOffset + (size + block - 1) / block * block  // size ≤ bytes.count: no overflow
    }
    if offset < bytes.count, offset + block > bytes.count, !bytes[offset...].allSatisfy({ $0 == 0 }) {
      throw DatasetError(path: path, "truncated tar archive: partial header at byte \(offset)")
    }
    return members
  }

  /// Checks the header checksum: the sum of all header bytes with the checksum field as spaces.
  private func verifyChecksum(_ header: ArraySlice<UInt8>, at offset: Int) throws {
    let magic = header[(offset + 257)..<(offset + 262)]
    guard magic.elementsEqual("ustar".utf8) else {
      throw DatasetError(path: path, "not a ustar/GNU tar header at byte \(offset) (magic is not \"ustar\")")
    }
    let stored = try number(header, field: 148..<156, name: "checksum", at: offset)
    var unsigned = 8 * 0x20, signed = 8 * 0x20
    for (index, byte) in zip(header.indices, header) where !(offset + 148..<offset + 156).contains(index) {
      unsigned += Int(byte)
      signed += Int(Int8(bitPattern: byte))
    }
    guard stored == unsigned || stored == signed else {
      throw DatasetError(path: path, "tar header at byte \(offset) has checksum \(stored), computed \(unsigned)")
    }
  }

  /// An octal numeric field (NUL/space terminated), or a GNU base-256 one (high bit of the first byte set).
  private func number(_ header: ArraySlice<UInt8>, field: Range<Int>, name: String, at offset: Int) throws -> Int {
    let raw = header[(offset + field.lowerBound)..<(offset + field.upperBound)]
    if let first = raw.first, first & 0x80 != 0 {
      var value = Int(first & 0x3F)
      guard first & 0x40 == 0 else { throw DatasetError(path: path, "tar header at byte \(offset): negative \(name)") }
      for byte in raw.dropFirst() {
        let (shifted, overflow) = value.multipliedReportingOverflow(by: 256)
        guard !overflow else { throw DatasetError(path: path, "tar header at byte \(offset): \(name) too large") }
        value = shifted | Int(byte)
      }
      return value
    }
    var value = 0
    var digits = 0
    for byte in raw.drop(while: { $0 == 0x20 }) {
      if byte == 0 || byte == 0x20 { break }
      guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte) else {
        throw DatasetError(path: path, "tar header at byte \(offset): \(name) field is not an octal number")
      }
      value = value * 8 + Int(byte - UInt8(ascii: "0"))
      digits += 1
    }
    guard digits > 0 || name == "size" else {
      throw DatasetError(path: path, "tar header at byte \(offset): empty \(name) field")
    }
    return value
  }

  /// `prefix/name` of a ustar header (GNU headers have no prefix field).
  private func headerName(_ header: ArraySlice<UInt8>, at offset: Int) -> String {
    let name = String(decoding: header[offset..<(offset + 100)].prefix { $0 != 0 }, as: UTF8.self)
    let isPOSIX = header[(offset + 257)..<(offset + 263)].elementsEqual("ustar\0".utf8)
    let prefix = isPOSIX ? String(decoding: header[(offset + 345)..<(offset + 500)].prefix { $0 != 0 }, as: UTF8.self) : ""
    return prefix.isEmpty ? name : prefix + "/" + name
  }

  /// The `path` and `size` records of a pax extended header (`"<length> <key>=<value>\n"` records).
  private func paxRecords(_ data: ArraySlice<UInt8>, at offset: Int) throws -> (String?, Int?) {
    var name: String?
    var size: Int?
    var position = data.startIndex
    while position < data.endIndex, data[position] != 0 {
      guard let space = data[position...].firstIndex(of: 0x20),
            let length = Int(String(decoding: data[position..<space], as: UTF8.self)),
            length > space - position, length <= data.endIndex - position else {
        throw DatasetError(path: path, "tar pax header at byte \(offset): malformed record")
      }
      let record = String(decoding: data[(space + 1)..<(position + length)].dropLast(), as: UTF8.self)
      if record.hasPrefix("path=") { name = String(record.dropFirst(5)) }
      if record.hasPrefix("size=") {
        guard let value = Int(record.dropFirst(5)), value >= 0 else {
          throw DatasetError(path: path, "tar pax header at byte \(offset): size is not a number")
        }
        size = value
      }
      position += length
    }
    return (name, size)
  }
}
