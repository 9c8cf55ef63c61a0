import Checkpoint
import Foundation
import Storage

/// The run directory's record of the `.npy` files its `assemble`s wrote: `RUN/outputs.json`,
/// `{"version": 1, "outputs": [{"path", "device", "inode", "size", "modificationNanoseconds"}]}`
/// (`path` absolute with symbolic links resolved; the rest `FileIdentity` right after the output
/// was renamed into place), replaced atomically after each successful `.npy` assemble.
///
/// It is what makes "an earlier output of this run" provable: `AssembleOutputGuard` replaces an
/// existing `.npy` without `--overwrite` only when it is recorded here and unchanged since (same
/// device, inode, size and mtime) — never a user's file that merely looks like a matrix.
public enum AssembledOutputs {
  struct Entry: Codable, Equatable {
    var path: String
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modificationNanoseconds: Int64

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

  /// Whether `output` is a file recorded by `run` and unchanged since it was written.
  public static func isRecordedAndUnchanged(_ output: String, run: RunDirectory) -> Bool {
    let absolute = AssembleOutputGuard.resolved(output)
    guard let current = FileIdentity.of(absolute),
          let entry = read(run).outputs.first(where: { $0.path == absolute }) else { return false }
    return entry.identity == current
  }

  /// Records `output` (as it is now) in `RUN/outputs.json`, replacing an earlier entry for the
  /// same path and dropping entries whose file is gone or changed.
  ///
  /// - Throws: `StorageError` if the record cannot be written (the output itself is complete).
  public static func record(_ output: String, run: RunDirectory) throws {
    let absolute = AssembleOutputGuard.resolved(output)
    guard let identity = FileIdentity.of(absolute) else {
      throw StorageError(.ioFailure, path: absolute, "cannot stat the output just written")
    }
    var record = read(run)
    record.outputs.removeAll { $0.path == absolute || FileIdentity.of($0.path) != $0.identity }
    record.outputs.append(Entry(path: absolute, device: identity.device, inode: identity.inode, size: identity.size,
                                modificationNanoseconds: identity.modificationNanoseconds))
    record.outputs.sort { $0.path < $1.path }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try AtomicFile.write([UInt8](try encoder.encode(record)) + [0x0A], to: path(of: run))
  }

  /// The record, or an empty one when missing or unreadable (nothing is then provably ours).
  static func read(_ run: RunDirectory) -> Record {
    guard let bytes = try? FileBytes.read(path: path(of: run)),
          let record = try? JSONDecoder().decode(Record.self, from: Data(bytes)) else { return Record() }
    return record
  }
}
