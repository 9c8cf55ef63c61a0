import Foundation
import XCTest
import Engine
import TestSupport

/// Seeded mutation fuzzing of one reader: each case is a mutated copy of valid input; the reader
/// must either read it (and the caller's checks of the result hold) or throw one of the expected
/// error types with a one-line message. A trap ends the whole test run (so it cannot pass
/// silently); a case slower than `slowCaseSeconds` fails (a hang shows up as a stuck test).
struct Fuzzer {
  /// Cases per reader (the issue asks for at least 2,000).
  static let cases = 2_000
  static let slowCaseSeconds = 2.0

  /// Numbers that break naive size arithmetic: 2³², 2⁶¹, Int.max, negative, zero, huge decimals.
  static let hostileNumbers = [
    "4294967296", "2305843009213693952", "9223372036854775807", "9223372036854775808", "-1", "0", "-9223372036854775808",
    "1e308", "1e400", "3037000500", "65536", "99999999999999999999999", "1.5", "2147483648", "18446744073709551615",
  ]

  /// Byte-level mutations: truncation, flipped bytes, hostile 32/64-bit little- and big-endian
  /// words, duplicated chunks, inserted and trailing garbage. `window` keeps most edits near the
  /// start (where headers and sizes live).
  static func mutateBytes(_ original: [UInt8], window: Int, _ random: inout SplitMix64) -> [UInt8] {
    var bytes = original
    for _ in 0..<(1 + random.below(3)) where !bytes.isEmpty {
      let span = random.below(4) == 0 ? bytes.count : min(bytes.count, window)
      switch random.below(7) {
      case 0:
        bytes.removeSubrange(random.below(bytes.count)...)
      case 1:
        for _ in 0..<(1 + random.below(6)) { bytes[random.below(span)] ^= UInt8(truncatingIfNeeded: 1 + random.below(255)) }
      case 2, 3:
        let word = random.pick([UInt64(0xFFFF_FFFF), 0x7FFF_FFFF, 0x8000_0000, 0x1_0000_0000, UInt64.max, UInt64(Int64.max), 1 << 61, UInt64(random.below(1 << 20))])
        let width = random.pick([4, 8])
        let bigEndian = random.below(2) == 0
        let position = random.below(span)
        for k in 0..<width where position + k < bytes.count {
          let shift = bigEndian ? 8 * (width - 1 - k) : 8 * k
          bytes[position + k] = UInt8(truncatingIfNeeded: word >> UInt64(shift))
        }
      case 4:
        let start = random.below(bytes.count)
        let end = min(bytes.count, start + 1 + random.below(200))
        bytes.insert(contentsOf: bytes[start..<end], at: random.below(bytes.count))
      case 5:
        bytes.insert(contentsOf: (0..<(1 + random.below(16))).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: random.below(span))
      default:
        bytes += (0..<(1 + random.below(64))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
      }
    }
    return bytes
  }

  /// Text-level mutations of JSON or a Python dict literal: numbers replaced by hostile ones,
  /// a `"key": value` pair duplicated, strings and tokens replaced, brackets unbalanced or nested
  /// deeply, invalid UTF-8 inserted.
  static func mutateText(_ original: String, _ random: inout SplitMix64) -> [UInt8] {
    var text = Array(original.utf8)
    // One case in four makes only changes a reader must accept or judge on the values (spacing,
    // small numbers), so that reads succeed often enough to check their results too.
    let gentle = random.below(4) == 0
    for _ in 0..<(1 + random.below(3)) where !text.isEmpty {
      switch gentle ? random.pick([1, 8]) : random.below(9) {
      case 0, 1:  // replace a number
        let digits = text.indices.filter { (0x30...0x39).contains(text[$0]) }
        guard let at = digits.isEmpty ? nil : random.pick(digits) else { continue }
        var start = at, end = at
        while start > 0, (0x30...0x39).contains(text[start - 1]) || text[start - 1] == 0x2D { start -= 1 }
        while end < text.count, (0x30...0x39).contains(text[end]) { end += 1 }
        let number = gentle || random.below(3) == 0 ? random.pick(["0", "1", "2", "3", "4", "12", "40", "48"]) : random.pick(hostileNumbers)
        text.replaceSubrange(start..<end, with: Array(number.utf8))
      case 2:  // duplicate a "key": value pair (up to the next comma)
        let quotes = text.indices.filter { text[$0] == 0x22 || text[$0] == 0x27 }
        guard quotes.count >= 2 else { continue }
        let start = random.pick(quotes)
        guard let comma = text[start...].firstIndex(of: 0x2C) else { continue }
        text.insert(contentsOf: Array(text[start...comma]), at: start)
      case 3:  // replace a quoted string
        let quotes = text.indices.filter { text[$0] == 0x22 || text[$0] == 0x27 }
        guard quotes.count >= 2 else { continue }
        let k = random.below(quotes.count - 1)
        let replacement = random.pick(["", "F16", "I32", "BF16", "__metadata__", "<f8", ">f4", "|u1", "shape", "tile", "drop", "header", "\\u0000", "x\\ud800"])
        text.replaceSubrange((quotes[k] + 1)..<quotes[k + 1], with: Array(replacement.utf8))
      case 4:  // replace a token with another JSON value
        let at = random.below(text.count)
        let replacement = random.pick(["null", "true", "[]", "{}", "[1,2]", "\"s\"", "-0", "NaN", "True", "(1,)", "{\"a\":1,\"a\":2}"])
        text.replaceSubrange(at..<min(text.count, at + 1 + random.below(6)), with: Array(replacement.utf8))
      case 5:  // unbalance or nest
        let at = random.below(text.count)
        if random.below(2) == 0 {
          text.insert(random.pick([0x7B, 0x7D, 0x5B, 0x5D, 0x28, 0x29, 0x2C, 0x3A, 0x22]), at: at)
        } else {
          let depth = random.pick([10, 600, 5_000])
          text.insert(contentsOf: [UInt8](repeating: 0x5B, count: depth) + [UInt8](repeating: 0x5D, count: depth), at: at)
        }
      case 6:  // invalid UTF-8 or a control byte
        text.insert(random.pick([0xFF, 0xC3, 0x80, 0x00, 0xED]), at: random.below(text.count))
      case 8:  // a space after a separator (valid in JSON and in Python literals)
        let separators = text.indices.filter { text[$0] == 0x2C || text[$0] == 0x3A }
        if let at = separators.isEmpty ? nil : random.pick(separators) { text.insert(0x20, at: at + 1) }
      default:  // delete a run
        let at = random.below(text.count)
        text.removeSubrange(at..<min(text.count, at + 1 + random.below(12)))
      }
    }
    return text
  }

  /// Runs `cases` mutations through `body`; returns how many were read and how many rejected.
  static func run(_ name: String, seed: UInt64, cases: Int = Fuzzer.cases, expecting errorTypes: [Error.Type],
                  mutate: (inout SplitMix64) -> [UInt8], _ body: ([UInt8]) throws -> Void) -> (read: Int, rejected: Int) {
    var random = SplitMix64(seed: seed)
    var read = 0, rejected = 0
    var slowest = 0.0
    for index in 0..<cases {
      let input = mutate(&random)
      let start = Date()
      do {
        try body(input)
        read += 1
      } catch {
        rejected += 1
        let known = errorTypes.contains { ObjectIdentifier($0) == ObjectIdentifier(type(of: error)) }
        XCTAssertTrue(known, "\(name) case \(index) (seed \(seed)): unexpected error \(type(of: error)): \(error)")
        XCTAssertFalse("\(error)".contains("\n"), "\(name) case \(index): message is not one line: \(error)")
        XCTAssertFalse("\(error)".isEmpty, "\(name) case \(index): empty message")
      }
      let seconds = Date().timeIntervalSince(start)
      slowest = max(slowest, seconds)
      XCTAssertLessThan(seconds, slowCaseSeconds, "\(name) case \(index) (seed \(seed)) took \(seconds) s")
    }
    print("fuzz \(name) seed \(seed): \(cases) cases, \(read) read, \(rejected) rejected, slowest \(String(format: "%.4f", slowest)) s")
    return (read, rejected)
  }
}
