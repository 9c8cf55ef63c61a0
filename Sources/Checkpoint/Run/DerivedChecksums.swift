import Foundation
import Storage

/// `RUN/checksums.json`: the SHA-256 of each derived file (`logits.npy`, `labels.npy`, a cross
/// run's `columns-logits.npy` and `columns-labels.npy`) as `run` wrote or found it, so that a
/// change the format checks cannot see (a flipped bit that leaves a finite float64) is caught:
///
///     {"sha256": {"labels.npy": "<64 hex digits>", "logits.npy": "<64 hex digits>"}}
///
/// Written atomically (`AtomicFile`) after the files it names. A file without an entry (run
/// directories written before this file existed) is checked by format only; the next `run` adds
/// its entry.
public enum DerivedChecksums {
  /// File name in the run directory.
  public static let fileName = "checksums.json"

  struct Contents: Codable {
    var sha256: [String: String]
  }

  /// `RUN/checksums.json` of the run directory holding `file`.
  static func checksumsPath(besides file: String) -> String {
    (file as NSString).deletingLastPathComponent + "/" + fileName
  }

  /// The recorded SHA-256 hex digests by file name (empty when there is no readable checksums file).
  static func recorded(besides file: String) -> [String: String] {
    guard let data = FileManager.default.contents(atPath: checksumsPath(besides: file)),
          let contents = try? JSONDecoder().decode(Contents.self, from: data) else { return [:] }
    return contents.sha256
  }

  /// What is wrong with the derived file at `path` against its recorded SHA-256, or `nil` when it
  /// matches, has no entry, or is absent.
  public static func mismatch(at path: String) -> String? {
    let name = (path as NSString).lastPathComponent
    guard let expected = recorded(besides: path)[name], let bytes = try? FileBytes.read(path: path) else { return nil }
    let actual = ContentHash.sha256(bytes).hex
    guard actual != expected else { return nil }
    return "SHA-256 \(actual.prefix(12))… differs from the \(expected.prefix(12))… recorded in \(fileName) when it was written"
  }

  /// Records the SHA-256 of each file of `paths` (all in one run directory) that exists, keeping
  /// the entries of other files, and replaces `RUN/checksums.json` atomically. Call after the
  /// files are written (and found intact).
  ///
  /// - Throws: `StorageError` on I/O errors.
  public static func record(_ paths: [String]) throws {
    guard let first = paths.first else { return }
    var sums = recorded(besides: first)
    for path in paths where SystemFile.kind(of: path).exists {
      sums[(path as NSString).lastPathComponent] = ContentHash.sha256(try FileBytes.read(path: path)).hex
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    let data = try encoder.encode(Contents(sha256: sums))
    guard data != FileManager.default.contents(atPath: checksumsPath(besides: first)) else { return }
    try AtomicFile.write(data, to: checksumsPath(besides: first))
  }
}
