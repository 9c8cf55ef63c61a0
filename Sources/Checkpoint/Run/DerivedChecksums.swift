import Foundation
import Storage

/// `RUN/checksums.json`: the SHA-256 of each derived file (`logits.npy`, `labels.npy`, a cross
/// run's `columns-logits.npy` and `columns-labels.npy`) as `run` wrote or found it, so that a
/// change the format checks cannot see (a flipped bit that leaves a finite float64) is caught:
///
///     {"sha256": {"labels.npy": "<64 hex digits>", "logits.npy": "<64 hex digits>"}}
///
/// Written atomically (`AtomicFile`) after the files it names. A checksum is recorded only for
/// bytes the writing session computed itself (or found equal to what it computed): a file without
/// a valid entry (run directories written before this file existed, or a `checksums.json` deleted
/// or garbled) is checked by format only, and the next `run` computes it again, rewrites it if it
/// differs and records the checksum of the computed bytes. `verify` names a `checksums.json` that
/// is not such a JSON object (`problem(in:)`, damage) and a missing one; `repair` removes a
/// damaged one.
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

  /// The recorded SHA-256 hex digests by file name (empty when there is no readable checksums
  /// file); an entry that is not 64 hex digits is no checksum (`problem(in:)` names it as the
  /// checksums file's damage) and is left out, so it never makes the file it names look damaged.
  static func recorded(besides file: String) -> [String: String] {
    guard let data = FileManager.default.contents(atPath: checksumsPath(besides: file)),
          let contents = try? JSONDecodingProblem.decode(Contents.self, from: [UInt8](data)).get() else { return [:] }
    return contents.sha256.filter { ContentHash(hex: $0.value) != nil }
  }

  /// The recorded SHA-256 hex digests of `run`'s derived files by file name (empty when
  /// `RUN/checksums.json` is missing or damaged).
  public static func recorded(in run: RunDirectory) -> [String: String] {
    recorded(besides: path(in: run))
  }

  /// `RUN/checksums.json`.
  public static func path(in run: RunDirectory) -> String { run.path + "/" + fileName }

  /// What is wrong with `RUN/checksums.json` (not a JSON object `{"sha256": {name: 64 hex digits}}`),
  /// or `nil` when it is absent or well-formed.
  public static func problem(in run: RunDirectory) -> String? {
    let path = path(in: run)
    guard SystemFile.kind(of: path).exists else { return nil }
    guard let data = FileManager.default.contents(atPath: path) else { return "unreadable" }
    let contents: Contents
    switch JSONDecodingProblem.decode(Contents.self, from: [UInt8](data)) {
    case .success(let decoded): contents = decoded
    case .failure(let failure):
      return failure.syntax == nil ? "not a JSON object {\"sha256\": {file name: SHA-256 hex}}: \(failure)"
        : "\(failure) (expected {\"sha256\": {file name: SHA-256 hex}})"
    }
    if let (name, _) = contents.sha256.sorted(by: { $0.key < $1.key }).first(where: { ContentHash(hex: $0.value) == nil }) {
      return "sha256.\(name): expected 64 hex digits"
    }
    return nil
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

  /// Records `sums` (full paths of derived files of `run` → the SHA-256 of the bytes the session
  /// computed for them), keeping the valid entries of other files, and replaces
  /// `RUN/checksums.json` atomically (a damaged one is replaced). Call after the files are written.
  ///
  /// - Throws: `StorageError` on I/O errors.
  public static func record(_ sums: [String: ContentHash], in run: RunDirectory) throws {
    var entries = recorded(in: run).filter { ContentHash(hex: $0.value) != nil }
    for (path, hash) in sums { entries[(path as NSString).lastPathComponent] = hash.hex }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    let data = try encoder.encode(Contents(sha256: entries))
    guard data != FileManager.default.contents(atPath: path(in: run)) else { return }
    try AtomicFile.write(data, to: path(in: run))
  }
}
