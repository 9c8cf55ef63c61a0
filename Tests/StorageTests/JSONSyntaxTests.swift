import Foundation
import XCTest
@testable import Storage

/// `JSONSyntax` accepts exactly RFC 8259 JSON and puts the first error at the right byte, line
/// and column, so that a one-line message can point at the character to fix.
final class JSONSyntaxTests: XCTestCase {
  private func problem(_ text: String) -> JSONSyntax.Problem? { JSONSyntax.firstProblem(in: Array(text.utf8)) }

  func testValidDocumentsHaveNoProblem() throws {
    for text in ["{}", "[]", " {\"a\": [1, -2.5e+3, 0, 0.5, 1E9, true, false, null, \"x\\n\\u00e9\\\"\"]}\n", "\"s\"", "0", "-0.0",
                 "{\"a\": {\"b\": {}}, \"c\": []}", "\t[\r\n]", "\"é ü 漢\""] {
      XCTAssertNil(problem(text), text)
    }
    // What JSONEncoder writes, pretty or not, is JSON.
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let data = try encoder.encode(["b": [1.5, 2], "a": [-3, 1e300]])
    XCTAssertNil(JSONSyntax.firstProblem(in: [UInt8](data)))
  }

  func testProblemsAreNamedAtTheirByteLineAndColumn() {
    let cases: [(String, Int, Int, Int, String)] = [
      ("{\"a\": 1\n \"b\": 2}", 9, 2, 2, "expected ',' or '}' after an object member, found '\"'"),
      ("[1, 2\n", 6, 2, 1, "expected ',' or ']' after an array element, found the end of the input"),
      ("{\"a\": 1,}", 7, 1, 8, "a trailing comma"),
      ("[1,\n 2,\n]", 6, 2, 3, "a trailing comma"),
      ("{\"a\" 1}", 5, 1, 6, "expected ':' after the key, found '1'"),
      ("{a: 1}", 1, 1, 2, "expected a key in double quotes or '}', found 'a'"),
      ("{\"a\": }", 6, 1, 7, "expected a value (an object, array, string, number, true, false or null), found '}'"),
      ("{\"é\": 'x'}", 7, 1, 7, "expected a value (an object, array, string, number, true, false or null), found ''' (JSON strings take double quotes)"),
      ("[01]", 1, 1, 2, "invalid number: a leading zero (JSON writes 7, not 07)"),
      ("[1.]", 3, 1, 4, "invalid number: expected a digit after '.'"),
      ("[-]", 2, 1, 3, "invalid number: expected a digit after '-'"),
      ("[1e]", 3, 1, 4, "invalid number: expected a digit in the exponent"),
      ("[True]", 1, 1, 2, "expected a value (an object, array, string, number, true, false or null), found 'T'"),
      ("[tru]", 1, 1, 2, "unexpected 'tru', expected a value (true, false and null are spelled in lower case)"),
      ("{\"a\": \"x\ny\"}", 8, 1, 9, "a control character (U+000A) inside a string (write it escaped, e.g. \\n; a string cannot span lines)"),
      ("[\"a\\qb\"]", 3, 1, 4, "invalid escape '\\q' in a string (JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"),
      ("[\"\\u12\"]", 2, 1, 3, "invalid escape in a string: \\u must be followed by 4 hex digits"),
      ("{\"a\": \"open", 6, 1, 7, "unterminated string (no closing \")"),
      ("{} {}", 3, 1, 4, "unexpected '{' after the end of the JSON value"),
      ("", 0, 1, 1, "no JSON value (the input is empty or only white space)"),
      ("  \n", 3, 2, 1, "no JSON value (the input is empty or only white space)"),
      ("[", 1, 1, 2, "unexpected end of the input, expected a value"),
    ]
    for (text, offset, line, column, what) in cases {
      guard let found = problem(text) else { XCTFail("accepted: \(text)"); continue }
      XCTAssertEqual(found.what, what, text)
      XCTAssertEqual(found.offset, offset, text)
      XCTAssertEqual(found.line, line, text)
      XCTAssertEqual(found.column, column, text)
    }
    // Columns count characters, not bytes: "é" is two bytes, one column.
    XCTAssertEqual(problem("{\"é\": x}").map { [$0.offset, $0.column] }, [7, 7])
  }

  func testTheDescriptionGivesByteLineAndColumnThenTheDetail() throws {
    let comma = try XCTUnwrap(problem("{\"a\": [1,]}"))
    XCTAssertEqual(comma.description, "a trailing comma at byte 8 (line 1, column 9), before a closing } or ] (JSON allows none; jq and Python's json refuse it)")
    XCTAssertEqual(try XCTUnwrap(problem("{\n\"a\" 1}")).description, "expected ':' after the key, found '1' at byte 6 (line 2, column 5)")
  }

  /// Deep nesting is no problem for the check itself (an explicit stack, no recursion).
  func testDeepNestingNeitherRecursesNorTraps() {
    let depth = 200_000
    XCTAssertNil(JSONSyntax.firstProblem(in: [UInt8](repeating: UInt8(ascii: "["), count: depth) + [UInt8](repeating: UInt8(ascii: "]"), count: depth)))
    XCTAssertEqual(JSONSyntax.firstProblem(in: [UInt8](repeating: UInt8(ascii: "["), count: depth))?.offset, depth)
  }
}
