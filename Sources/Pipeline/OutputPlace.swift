import Checkpoint
import Foundation
import Storage

/// Where a command may write a file it derives from a run (`assemble`'s matrix, `export-weights`'
/// weights): never inside the run directory (its files are the run's state: a checkpoint, a tile
/// object, the journal), never over a folder that contains the run directory or the current
/// directory, only into a folder that exists, never over a symbolic link, and a file never over
/// a directory, never over one of the run's own input files (`RunInputFiles`: `dataset.path`,
/// `columns.path`, `model.weights` of `RUN/manifest.json`, the dataset's files under
/// `dataset.root` and `columns.root`) nor a folder holding one, and over no existing file at all
/// while `RUN/manifest.json` cannot tell them. Whether an existing output may be
/// replaced is the command's own rule.
public enum OutputPlace {
  /// `path` made absolute, `.`/`..` removed and symbolic links resolved (for the parts that exist).
  public static func resolved(_ path: String) -> String {
    let url = URL(fileURLWithPath: path).standardizedFileURL
    if SystemFile.kind(of: url.path).exists { return url.resolvingSymlinksInPath().path }
    let parent = url.deletingLastPathComponent()
    return resolved(parent.path).appending("/" + url.lastPathComponent).replacingOccurrences(of: "//", with: "/")
  }

  /// Refuses an `output` whose name says another format than the one `command` writes (an `.npy`
  /// matrix written into `x.txt`, a Zarr array named `k.npz`, weights named `w.bin`): another
  /// program — or a later `ntkbatch` — would take the file for what its name says. Extensions are
  /// compared without regard to case.
  ///
  /// - Parameters:
  ///   - extensions: the extension the format takes (without its dot), e.g. `npy`.
  ///   - withoutExtension: whether a name without any extension is accepted too (a Zarr array's
  ///     directory, `--format zarr --output G`).
  ///   - what: the output as the message names it, e.g. `the .npy file assemble writes`.
  ///   - otherwise: how to write the other format, if there is one (`or give --format zarr to
  ///     write a Zarr array`).
  /// - Throws: `BadInput` (exit 2), one line naming the output, `--output` and the extension expected.
  public static func checkExtension(output: String, extension expected: String, withoutExtension: Bool = false, what: String,
                                    otherwise: String? = nil) throws {
    let name = AtomicFile.name(of: output)
    let dot = name.lastIndex(of: ".").flatMap { $0 == name.startIndex ? nil : $0 }  // `.hidden` has no extension
    let found = dot.map { String(name[name.index(after: $0)...]) }
    if let found, found.lowercased() == expected.lowercased() { return }
    if found == nil, withoutExtension { return }
    let stem = dot.map { String(name[..<$0]) } ?? name
    // `y.npy.bak`: `y.npy`, not `y.npy.npy`.
    let suggested = stem.lowercased().hasSuffix("." + expected.lowercased()) ? stem : "\(stem).\(expected)"
    let accepted = "a name ending in .\(expected)\(withoutExtension ? " (or without an extension)" : "")"
    throw BadInput("\(output): --output: expected \(accepted) for \(what), found \(found.map { "the extension .\($0)" } ?? "no extension"); name it \(suggested)\(otherwise.map { ", \($0)" } ?? "")")
  }

  /// Refuses an `output` of `command` inside `runDirectory`, one containing the run directory or
  /// the current directory, in a folder that does not exist, a symbolic link, one of the run's
  /// input files (`RunInputFiles`) or a folder containing one, an existing path while the run's
  /// inputs cannot be told (`RunInputFiles.unknownReason`: `RUN/manifest.json` missing, damaged
  /// or with relative paths), and an existing directory unless the output is one
  /// (`isDirectoryOutput`: a Zarr array).
  ///
  /// - Throws: `BadInput` (exit 2), one line naming the output (or its folder); these hold also
  ///   with `--overwrite`.
  public static func check(output: String, runDirectory: String, command: String, isDirectoryOutput: Bool) throws {
    let target = resolved(output)
    let run = resolved(runDirectory)
    func contains(_ outer: String, _ inner: String) -> Bool {
      inner == outer || inner.hasPrefix(outer.hasSuffix("/") ? outer : outer + "/")
    }
    if contains(run, target) {
      throw BadInput("\(output): inside the run directory \(runDirectory); \(command) writes its output outside the run directory (also not with --overwrite)")
    }
    if contains(target, run) {
      throw BadInput("\(output): contains the run directory \(runDirectory); not replaced (also not with --overwrite)")
    }
    if contains(target, resolved(FileManager.default.currentDirectoryPath)) {
      throw BadInput("\(output): contains the current directory; not replaced (also not with --overwrite)")
    }
    if let input = RunInputFiles.input(at: output, runDirectory: runDirectory) {
      throw BadInput("\(output): is the run's own input \(input.field) (\(input.path), from \(RunDirectory(path: runDirectory).manifestPath)); \(command) does not replace a file the run reads (the run could no longer resume nor be checked): give another output (also not with --overwrite)")
    }
    if let input = RunInputFiles.input(inside: output, runDirectory: runDirectory) {
      throw BadInput("\(output): contains the run's own input \(input.field) (\(input.path), from \(RunDirectory(path: runDirectory).manifestPath)); \(command) does not replace a folder holding a file the run reads: give another output (also not with --overwrite)")
    }
    if SystemFile.kind(of: output).exists, let reason = RunInputFiles.unknownReason(runDirectory: runDirectory) {
      throw BadInput("\(output): exists, and which files the run reads cannot be told (\(reason)), so it may be one of them; not replaced (also not with --overwrite): run the run's manifest once (ntkbatch run MANIFEST --run-dir \(runDirectory)) to rewrite RUN/manifest.json, or give an output that does not exist")
    }
    let folder = AtomicFile.directory(of: output)
    var isFolder: ObjCBool = false
    if !FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) || !isFolder.boolValue {
      throw BadInput("\(output): the folder \(folder) does not exist (expected an existing folder for the output; create it first)")
    }
    let unslashed = output.hasSuffix("/") && output.count > 1 ? String(output.dropLast()) : output
    if let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: unslashed) {
      throw BadInput("\(output): is a symbolic link (to \(destination)); \(command) does not replace a link nor write through it: give the target's path (also not with --overwrite)")
    }
    let kind = SystemFile.kind(of: output)
    if kind.exists && !isDirectoryOutput && kind.isDirectory {
      throw BadInput("\(output): exists and is a directory, not a file; not replaced (also not with --overwrite)")
    }
  }
}
