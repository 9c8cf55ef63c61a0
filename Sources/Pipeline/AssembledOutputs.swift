import Checkpoint
import Foundation
import Storage

/// The run directory's record of the outputs its `assemble`s wrote: `RUN/outputs.json`,
/// `{"version": 1, "outputs": [{"path", "device", "inode", "size", "modificationNanoseconds",
/// "run", "runDevice", "runInode", "contents"?, "mask"?}]}`:
/// - `path`: the output, absolute with symbolic links resolved;
/// - `device` … `modificationNanoseconds`: `FileIdentity` right after the output was renamed into
///   place — of the `.npy` file, or of a Zarr array's metadata file (`zarr.json` or `.zarray`);
/// - `run`: SHA-256 (hex) of the run's identity (`RunIdentity`, the journal header's, as sorted-key
///   JSON) — manifest, input data and weights hashes, n, tileSamples, … — so that a run directory
///   reset and reused for another computation (`rm -rf RUN/journal RUN/objects`) owns nothing;
/// - `runDevice`, `runInode`: `st_dev` and `st_ino` of the run directory itself, so that a copy of
///   it (`cp -a RUN COPY`: the same identity, the same `outputs.json`) owns none of the original's
///   outputs — a partial assemble of a scratch copy must not replace the original's matrix. A run
///   directory renamed on its file system keeps them; one moved to another file system owns its
///   old outputs no more (`--overwrite` replaces them);
/// - `contents` (Zarr only): SHA-256 (hex) of the array directory's listing — every entry's
///   relative path, type, inode, size and mtime — so that an added file (`NOTES.txt`), an edited,
///   added or removed chunk all count as a change;
/// - `mask`: the `FileIdentity` of `OUTPUT.missing.json` when this assemble wrote one.
/// Replaced atomically after each successful `assemble`.
///
/// It is what makes "an earlier output of this run" provable: `AssembleOutputGuard` replaces an
/// existing output without `--overwrite` only when it is recorded here for the run's current
/// identity and unchanged since — never a user's file that merely looks like a matrix or an array.
public enum AssembledOutputs {
  struct Entry: Codable, Equatable {
    var path: String
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modificationNanoseconds: Int64
    var run: String?
    var runDevice: UInt64?
    var runInode: UInt64?
    var contents: String?
    var mask: FileIdentity?

    var identity: FileIdentity {
      FileIdentity(device: device, inode: inode, size: size, modificationNanoseconds: modificationNanoseconds)
    }
  }

  struct Record: Codable {
    var version = 1
    var outputs: [Entry] = []
  }

  /// `RUN/outputs.json`.
  public static func path(of run: RunDirectory) -> String { run.path + "/outputs.json" }

  /// SHA-256 (hex) of the run's identity as sorted-key JSON, or `nil` without a journal header.
  public static func runHash(_ run: RunDirectory) -> String? {
    guard let identity = (try? run.journal.replay())?.identity else { return nil }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    guard let data = try? encoder.encode(identity) else { return nil }
    return ContentHash.sha256(data).hex
  }

  /// What identifies the output at `absolute` now: the `.npy`'s identity, or a Zarr array's
  /// metadata file identity and its listing's hash; `nil` when neither exists.
  static func current(_ absolute: String) -> (identity: FileIdentity, contents: String?)? {
    if SystemFile.kind(of: absolute).isDirectory {
      for metadata in ["zarr.json", ".zarray"] {
        if let identity = FileIdentity.of(absolute + "/" + metadata) { return (identity, listingHash(absolute)) }
      }
      return nil
    }
    return FileIdentity.of(absolute).map { ($0, nil) }
  }

  /// SHA-256 (hex) of the sorted lines `relative path, type, inode, size, mtime` of every entry
  /// under `directory` (symbolic links not followed).
  static func listingHash(_ directory: String) -> String {
    var lines: [String] = []
    let enumerator = FileManager.default.enumerator(atPath: directory)
    while let name = enumerator?.nextObject() as? String {
      guard let (identity, type) = FileIdentity.ofEntry(directory + "/" + name) else { lines.append(name + "\t?"); continue }
      lines.append("\(name)\t\(type)\t\(identity.inode)\t\(identity.size)\t\(identity.modificationNanoseconds)")
    }
    return ContentHash.sha256(Array(lines.sorted().joined(separator: "\n").utf8)).hex
  }

  static func entry(_ output: String, run: RunDirectory) -> Entry? {
    let absolute = OutputPlace.resolved(output)
    return read(run).outputs.first(where: { $0.path == absolute })
  }

  /// Whether `output` (a `.npy` file or a Zarr array directory) is recorded by `run` for its
  /// current identity (`runHash`: `runHash(run)`, computed once by the caller) and unchanged since
  /// it was written.
  public static func isRecordedAndUnchanged(_ output: String, run: RunDirectory, runHash: String?) -> Bool {
    guard let entry = entry(output, run: run), isOwned(entry, run: run, runHash: runHash),
          let now = current(entry.path) else { return false }
    return entry.identity == now.identity && entry.contents == now.contents
  }

  /// Whether `OUTPUT.missing.json` is the mask an assemble of `run` (its current identity,
  /// `runHash` as above) wrote for `output` and unchanged since.
  public static func isOurMask(of output: String, run: RunDirectory, runHash: String?) -> Bool {
    guard let entry = entry(output, run: run), isOwned(entry, run: run, runHash: runHash),
          let mask = entry.mask else { return false }
    return FileIdentity.of(output + ".missing.json") == mask
  }

  /// Whether `entry` was written by this run directory (the same directory, not a copy of it)
  /// for its current identity.
  static func isOwned(_ entry: Entry, run: RunDirectory, runHash: String?) -> Bool {
    guard let hash = runHash, entry.run == hash, let directory = FileIdentity.of(run.path) else { return false }
    return entry.runDevice == directory.device && entry.runInode == directory.inode
  }

  /// Records `output` (as it is now, with the mask `maskPath` if one was written) in
  /// `RUN/outputs.json`, replacing an earlier entry for the same path and dropping entries whose
  /// output is gone or changed.
  ///
  /// - Throws: `StorageError` if the record cannot be written (the output itself is complete).
  public static func record(_ output: String, mask maskPath: String?, run: RunDirectory) throws {
    let absolute = OutputPlace.resolved(output)
    guard let now = current(absolute) else {
      throw StorageError(.ioFailure, path: absolute, "cannot stat the output just written")
    }
    var record = read(run)
    record.outputs.removeAll { entry in
      entry.path == absolute || current(entry.path).map { $0.identity != entry.identity || $0.contents != entry.contents } ?? true
    }
    let identity = now.identity
    let directory = FileIdentity.of(run.path)
    record.outputs.append(Entry(path: absolute, device: identity.device, inode: identity.inode, size: identity.size,
                                modificationNanoseconds: identity.modificationNanoseconds, run: runHash(run),
                                runDevice: directory?.device, runInode: directory?.inode,
                                contents: now.contents, mask: maskPath.flatMap { FileIdentity.of($0) }))
    record.outputs.sort { $0.path < $1.path }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try AtomicFile.write([UInt8](try encoder.encode(record)) + [0x0A], to: path(of: run))
  }

  /// The record, or an empty one when missing or unreadable (nothing is then provably ours).
  static func read(_ run: RunDirectory) -> Record {
    guard let bytes = try? FileBytes.read(path: path(of: run)),
          let record = try? JSONDecodingProblem.decode(Record.self, from: bytes).get() else { return Record() }
    return record
  }

  /// What is wrong with `RUN/outputs.json` when it exists but cannot be read as the record (then
  /// no output is provably this run's): `not valid JSON: … at byte N (line L, column C)`, or that
  /// it does not hold the record; `nil` when it is absent or reads.
  public static func problem(_ run: RunDirectory) -> String? {
    guard SystemFile.kind(of: path(of: run)).exists else { return nil }
    guard let bytes = try? FileBytes.read(path: path(of: run)) else { return "unreadable" }
    guard case .failure(let failure) = JSONDecodingProblem.decode(Record.self, from: bytes) else { return nil }
    return failure.syntax == nil ? "not a record of outputs ({\"version\": 1, \"outputs\": [...]}): \(failure)" : "\(failure)"
  }
}
