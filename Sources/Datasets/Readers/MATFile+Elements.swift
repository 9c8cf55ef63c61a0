import Storage

extension MATFile {
  /// A cursor over a run of data elements (the file body, the inside of an `miMATRIX`, or an
  /// inflated `miCOMPRESSED` element). Every offset is checked against the end of its range.
  struct ElementReader {
    /// One data element: its type code and where its data lies in `bytes`.
    struct Element {
      var type: UInt32
      var offset: Int
      var data: Range<Int>
    }

    /// Compressed elements may nest (a writer could compress twice); deeper nesting is refused.
    static let maximumDepth = 4

    let bytes: [UInt8]
    let end: Int
    let bigEndian: Bool
    let path: String
    /// Where this run lies, for messages (e.g. `" in compressed element at byte 128"`).
    let context: String
    private(set) var offset: Int

    init(bytes: [UInt8], range: Range<Int>, bigEndian: Bool, path: String, context: String) {
      self.bytes = bytes
      self.offset = range.lowerBound
      self.end = range.upperBound
      self.bigEndian = bigEndian
      self.path = path
      self.context = context
    }

    private func failure(_ message: String) -> DatasetError {
      DatasetError(path: path, message + context)
    }

    func uint32(at position: Int) -> UInt32 {
      let b0 = UInt32(bytes[position]), b1 = UInt32(bytes[position + 1])
      let b2 = UInt32(bytes[position + 2]), b3 = UInt32(bytes[position + 3])
      return bigEndian ? b0 << 24 | b1 << 16 | b2 << 8 | b3 : b3 << 24 | b2 << 16 | b1 << 8 | b0
    }

    /// The next element, or `nil` at the end of the run.
    ///
    /// - Throws: for a tag or data running past the end of the run.
    mutating func next() throws -> Element? {
      guard offset < end else { return nil }
      let start = offset
      guard end - start >= 8 else {
        throw failure("truncated data element tag at byte \(start): \(Plural.count(end - start, "byte")) left, a tag needs 8")
      }
      let word = uint32(at: start)
      if word >> 16 != 0 {
        // Small data element: byte count in the upper 16 bits, type in the lower, data in the next 4 bytes.
        let count = Int(word >> 16)
        guard count <= 4 else {
          throw failure("small data element at byte \(start) declares \(Plural.count(count, "byte")) (at most 4)")
        }
        offset = start + 8
        return Element(type: word & 0xFFFF, offset: start, data: (start + 4)..<(start + 4 + count))
      }
      let count = Int(uint32(at: start + 4))
      guard count <= end - start - 8 else {
        throw failure("truncated data element at byte \(start): declares \(Plural.count(count, "byte")), \(end - start - 8) remain")
      }
      let dataEnd = start + 8 + count
      // Data is padded to a multiple of 8 bytes, except compressed elements (written unpadded).
      let padded = word == DataType.compressed.rawValue ? dataEnd : dataEnd + (8 - count % 8) % 8
      offset = min(padded, end)
      return Element(type: word, offset: start, data: (start + 8)..<dataEnd)
    }

    /// Reads every top-level element of the run as variables, inflating compressed elements.
    mutating func readVariables(depth: Int) throws -> [Variable] {
      var variables: [Variable] = []
      while let element = try next() {
        switch DataType(rawValue: element.type) {
        case .matrix:
          if let variable = try readMatrix(element) { variables.append(variable) }
        case .compressed:
          guard depth < Self.maximumDepth else {
            throw failure("compressed element at byte \(element.offset) nested more than \(Self.maximumDepth) deep")
          }
          let inflated: [UInt8]
          do {
            inflated = try Zlib.inflate(bytes, range: element.data, path: path)
          } catch let error as StorageError where error.kind == .badInput {
            // Corrupt or truncated zlib data is a malformed MAT-file, reported as the MAT reader's own.
            throw DatasetError(.malformedDataset, error.description)
          }
          var inner = ElementReader(
            bytes: inflated, range: 0..<inflated.count, bigEndian: bigEndian, path: path,
            context: " in compressed element at byte \(element.offset)\(context)")
          variables += try inner.readVariables(depth: depth + 1)
        default:
          throw failure("data element at byte \(element.offset) has type \(element.type), expected miMATRIX (14) or miCOMPRESSED (15)")
        }
      }
      return variables
    }

    /// Parses one `miMATRIX` element; `nil` for an empty one (zero bytes, allowed by the format).
    func readMatrix(_ element: Element) throws -> Variable? {
      guard !element.data.isEmpty else { return nil }
      var inner = ElementReader(bytes: bytes, range: element.data, bigEndian: bigEndian, path: path, context: context)
      let at = element.offset

      // Array flags: miUINT32, 8 bytes; class in the low byte, flags (complex 0x08, logical 0x02) above it.
      guard let flags = try inner.next(), flags.type == DataType.uint32.rawValue, flags.data.count == 8 else {
        throw failure("array at byte \(at): first sub-element must be the 8-byte miUINT32 array flags")
      }
      let flagWord = uint32(at: flags.data.lowerBound)
      guard let arrayClass = ArrayClass(rawValue: UInt8(flagWord & 0xFF)) else {
        throw failure("array at byte \(at): unknown array class \(flagWord & 0xFF)")
      }
      let isComplex = flagWord & 0x800 != 0

      // Dimensions: miINT32, at least two.
      guard let dims = try inner.next(), dims.type == DataType.int32.rawValue,
            dims.data.count % 4 == 0, dims.data.count >= 8 else {
        throw failure("array at byte \(at): second sub-element must be the miINT32 dimensions (at least 2)")
      }
      var dimensions: [Int] = []
      for position in stride(from: dims.data.lowerBound, to: dims.data.upperBound, by: 4) {
        let value = Int(Int32(bitPattern: uint32(at: position)))
        guard value >= 0 else { throw failure("array at byte \(at): negative dimension \(value)") }
        dimensions.append(value)
      }

      // Name: miINT8 (or miUTF8) characters, possibly empty.
      guard let nameElement = try inner.next(),
            nameElement.type == DataType.int8.rawValue || nameElement.type == DataType.utf8.rawValue else {
        throw failure("array at byte \(at): third sub-element must be the miINT8 array name")
      }
      let name = String(decoding: bytes[nameElement.data], as: UTF8.self)

      var variable = Variable(
        name: name, arrayClass: arrayClass, dimensions: dimensions, isComplex: isComplex, dataType: nil, real: [])
      guard arrayClass.isNumeric else { return variable }

      let (count, overflow) = dimensions.reduce((1, false)) { partial, d in
        let (product, o) = partial.0.multipliedReportingOverflow(by: d)
        return (product, partial.1 || o)
      }
      guard !overflow else {
        throw failure("array '\(name)' at byte \(at): dimensions \(dimensions) overflow the element count")
      }
      let (dataType, real) = try inner.readPart(of: name, count: count, dimensions: dimensions, arrayAt: at, part: "real")
      variable.dataType = dataType
      variable.real = real
      if isComplex {
        _ = try inner.readPart(of: name, count: count, dimensions: dimensions, arrayAt: at, part: "imaginary")
      }
      return variable
    }

    /// Reads a numeric part whose size must match `count` elements; converts it to little-endian.
    private mutating func readPart(of name: String, count: Int, dimensions: [Int], arrayAt at: Int, part: String) throws -> (DataType, [UInt8]) {
      guard let element = try next() else {
        throw failure("array '\(name)' at byte \(at): missing \(part) part")
      }
      guard let type = DataType(rawValue: element.type), let size = type.elementBytes else {
        throw failure("array '\(name)' at byte \(at): \(part) part has type \(element.type), expected a numeric type")
      }
      let (expected, overflow) = count.multipliedReportingOverflow(by: size)
      guard !overflow, expected == element.data.count else {
        throw failure("array '\(name)' at byte \(at): dimensions \(dimensions) of \(type) need \(overflow ? "more than Int.max" : "\(expected)") bytes, the \(part) part holds \(element.data.count)")
      }
      var data = Array(bytes[element.data])
      if bigEndian && size > 1 {
        data.withUnsafeMutableBufferPointer { buffer in
          for start in stride(from: 0, to: buffer.count, by: size) {
            var low = start, high = start + size - 1
            while low < high { buffer.swapAt(low, high); low += 1; high -= 1 }
          }
        }
      }
      return (type, data)
    }
  }
}
