import ArgumentParser
import Checkpoint
import Foundation
import Pipeline
import Storage

/// Output element types of `assemble`.
enum AssembleDType: String, ExpressibleByArgument, CaseIterable {
  case float16, float32, float64

  var npy: NpyDType {
    switch self {
    case .float16: return .float16
    case .float32: return .float32
    case .float64: return .float64
    }
  }
}

/// `ntkbatch assemble DIR --output FILE.npy|DIR.zarr [--format npy|zarr] [--zarr-format 3|2]
/// [--chunk N] [--samples A:B[,C:D]] [--classes LIST] [--dtype …] [--allow-partial]`: the
/// symmetric eNTK (or a block of it) as one `.npy` or a Zarr array; with `--allow-partial` a mask
/// `OUTPUT.missing.json` of the tiles not computed yet.
struct AssembleCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "assemble",
    abstract: "Write the symmetric (n·10) × (n·10) eNTK of a run, or a block of it, as a NumPy .npy file or a Zarr array.",
    discussion: """
      Row and column i·10 + a are sample i, class a. .npy: version 1.0, C order; \
      numpy.load(path, mmap_mode="r") opens it; its name must end in .npy. Zarr (--format zarr, or an \
      output ending in .zarr; --format contradicting the output's name, npy for *.zarr or zarr for *.npy, is refused; \
      a name with another extension, e.g. k.txt, is refused for either format): a directory, format 3 (zarr.json, chunks c/I/J) or 2 (.zarray, chunks I/J), zstd, \
      chunks of one tile (or --chunk N rows and columns), fill value NaN, the run recorded in \
      its attributes; zarr.open(path) opens it lazily. Refuses while tiles are missing (unless \
      --allow-partial), when a tile holds NaN or infinity, and float16 when values overflow it. \
      Checks free space first; the output appears atomically, replacing an earlier one. Refuses \
      an output inside the run directory, in a folder that does not exist, one containing the run \
      directory or the current directory, a symbolic link (give the target's path) and a directory \
      where a .npy goes (also with --overwrite), and, unless --overwrite, an existing path that is \
      not an earlier output of this run: recorded in RUN/outputs.json for the run's current \
      identity and unchanged since (a .npy: path, size, inode, mtime; a Zarr array: its metadata \
      file and its directory listing, so an added file or an edited chunk means refuse). A \
      complete output removes a stale OUTPUT.missing.json of an earlier --allow-partial of this \
      run (recorded with the output); a user's file of that name is left. SIGINT/SIGTERM/SIGHUP \
      remove the temporary output and exit 75 (an earlier output is left as it was).

      --samples A:B writes only samples A…B−1 (rows and columns); A:B,C:D rows A…B−1 and \
      columns C…D−1. --classes 0,3,7 keeps those outputs (in that order): row \
      (i − A)·k + position of the class. A cross run (manifest columns) writes K(rows, columns), \
      (n_rows·10) × (n_columns·10), nothing mirrored: --samples A:B selects rows A…B−1 and every \
      column sample, A:B,C:D rows A…B−1 and column samples C…D−1; --classes applies to both.

      Kernel variants (ntk.kernel): trace and pseudo runs give the (n, n) matrix (row and \
      column = sample; --classes is refused); diagonal runs the (n, 10, 10) blocks k(x_i, x_i) \
      (--samples A:B and --classes select samples and classes; Zarr: a 3-D array, chunks of \
      --chunk/10 samples).

      With --allow-partial, tiles not computed yet are NaN (.npy) or absent chunks (Zarr: read \
      as NaN), in both triangles, and a mask OUTPUT.missing.json is written next to the output \
      (atomically; none when nothing is missing; an existing mask not this run's is refused \
      unless --overwrite): {"output", "dimension", "rows", "columns", "samples", "classes", \
      "outputsPerSample" (m = 10), "valuesPerSample" (rows per sample: 10, or 1 for trace and \
      pseudo), "tileSamples", "tilesTotal", "missingTiles": \
      [{"index", "I", "J", "samples": {"rows", "columns"}, "matrix": {"rows", "columns"}, \
      "blocks": [{"rows", "columns"}]}]} — ranges half-open; "matrix" in the full matrix, \
      "blocks" in the output (the tile and its transpose).
      """)

  @Argument(help: "The run directory.")
  var runDirectory: String

  @Option(help: "Element type of the output: float16, float32 or float64 (default: the run's precision, ntk.precision).")
  var dtype: AssembleDType?

  @Option(help: "The output: a .npy file (named *.npy), or a Zarr array directory (named *.zarr, or without an extension with --format zarr).")
  var output: String

  @Option(help: "npy or zarr (default: zarr when the output ends in .zarr, else npy).")
  var format: TileAssembler.OutputFormat?

  // `.unconditional` (here and below): a value such as `-10` or `-1:5` is read as the value (and
  // refused by `validate` with its own message), not taken for an option.
  @Option(name: .customLong("zarr-format"), parsing: .unconditional, help: "Zarr format version: 3 (default) or 2 (for zarr-python 2.x).")
  var zarrFormat: Int?

  @Option(parsing: .unconditional, help: "Zarr chunk side in rows and columns (a multiple of the classes kept); default: one tile.")
  var chunk: Int?

  @Option(parsing: .unconditional, help: "Samples A:B (rows and columns; a cross run: rows, all columns) or A:B,C:D (rows A…B−1, columns C…D−1; a cross run: of its columns samples); default: all.")
  var samples: String?

  @Option(parsing: .unconditional, help: "Classes to keep, e.g. 0,3,7 (in that order); default: all 10.")
  var classes: String?

  @Flag(help: "Zarr: hard-link stored tiles as chunks where the file system allows, instead of copying them (do not then write to the array: a chunk rewritten in place would change the run's object).")
  var link = false

  @Flag(name: .customLong("allow-partial"), help: "Write NaN (absent Zarr chunks) for tiles not computed yet and a mask OUTPUT.missing.json listing them.")
  var allowPartial = false

  @Flag(help: "Replace an existing output (or --allow-partial mask) that is not provably an earlier one of this run (not recorded in RUN/outputs.json for this run, or changed since); never a path inside or containing the run directory, a symbolic link, or a directory where a .npy goes.")
  var overwrite = false

  @Option(help: "Progress on stderr: auto (a bar on a terminal, a line every 10 s otherwise), bar, lines, none.")
  var progress: AssembleProgress.Mode = .auto

  /// Whether `--output` is named as a Zarr array (`*.zarr`, any case).
  var isZarrName: Bool { AtomicFile.name(of: output).lowercased().hasSuffix(".zarr") }

  var resolvedFormat: TileAssembler.OutputFormat {
    format ?? (isZarrName ? .zarr : .npy)
  }

  func validate() throws {
    if output.isEmpty { throw ValidationError("--output: expected a .npy file or a Zarr directory path, found an empty string") }
    // An explicit --format that contradicts the output's extension would write a .npy file named
    // *.zarr or a Zarr directory named *.npy: almost surely a slip in one of the two.
    let zarrName = isZarrName
    if let format, format == .npy && zarrName || format == .zarr && AtomicFile.name(of: output).lowercased().hasSuffix(".npy") {
      throw ValidationError("--format \(format.rawValue) contradicts --output \(output) (a \(zarrName ? ".zarr" : ".npy") name); give an output ending in .\(format.rawValue), or leave out --format")
    }
    if resolvedFormat != .zarr && (zarrFormat != nil || chunk != nil || link) {
      throw ValidationError("--zarr-format, --chunk and --link apply to Zarr output only (--format zarr or an output ending in .zarr)")
    }
    if let zarrFormat, ![2, 3].contains(zarrFormat) { throw ValidationError("--zarr-format must be 2 or 3, not \(zarrFormat)") }
    let selection = try selection()
    // Option values checkable without the run are usage errors (64); what depends on the run
    // (samples beyond n) is bad input (2), from TileAssembler. Every model has 10 outputs; a
    // trace or pseudo run (ntk.kernel) has one value per sample.
    let kernel = chunk == nil ? nil : (try? RunDirectory(path: runDirectory).journal.replay())?.identity?.kernel
    let k = kernel == .trace || kernel == .pseudo ? 1 : selection.classes?.count ?? 10
    if let chunk, chunk <= 0 || chunk % k != 0 {
      throw ValidationError("--chunk: expected a positive multiple of \(k) (the classes per sample), found \(chunk)")
    }
  }

  /// `--samples` and `--classes` as a selection.
  func selection() throws -> AssemblySelection {
    var selection = AssemblySelection()
    if let samples {
      let parts = samples.split(separator: ",", omittingEmptySubsequences: false)
      guard (1...2).contains(parts.count) else { throw ValidationError("--samples: expected A:B or A:B,C:D, found \(samples)") }
      let ranges = try parts.map { part -> Range<Int> in
        guard !part.isEmpty else {
          throw ValidationError("--samples: expected A:B or A:B,C:D, found \"\(samples)\" (an empty range \(part.startIndex == samples.startIndex ? "before" : "after") the comma)")
        }
        let bounds = part.split(separator: ":", omittingEmptySubsequences: false)
        guard bounds.count == 2, let a = Int(bounds[0]), let b = Int(bounds[1]), a >= 0, a < b else {
          throw ValidationError("--samples: expected A:B with 0 ≤ A < B, found \(part)")
        }
        return a..<b
      }
      selection.rowSamples = ranges[0]
      // One range: the same columns (square eNTK), or all column samples of a cross run.
      selection.columnSamples = ranges.count == 2 ? ranges[1] : nil
    }
    if let classes {
      let values = classes.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
      guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { throw ValidationError("--classes: expected a list like 0,3,7, found \(classes)") }
      selection.classes = values.map { $0! }
      guard Set(values).count == values.count, values.allSatisfy({ (0..<10).contains($0!) }) else {
        throw ValidationError("--classes: expected distinct classes within 0…9, found \(classes)")
      }
    }
    return selection
  }

  func run() throws {
    let run = RunDirectory(path: runDirectory)
    let format = resolvedFormat
    try CLIError.reporting { try refuseOptionsTheKernelHasNo(run) }
    var display = AssembleProgress(mode: progress)
    var dtype = self.dtype ?? .float32
    var findings: AssembleOutputGuard.Findings?
    let stop = AssembleSignalWatch(output: output)
    var abandoned: [String] = []
    let report = try CLIError.reporting { () -> TileAssembler.Report in
      findings = try AssembleOutputGuard.check(output: output, runDirectory: runDirectory, isZarr: format == .zarr,
                                               overwrite: overwrite, allowPartial: allowPartial)
      // A name that says another format (`--output x.txt`, an .npy written into it): refused.
      if format == .npy {
        try OutputPlace.checkExtension(output: output, extension: "npy", what: "the .npy file assemble writes",
                                       otherwise: "or give --format zarr to write a Zarr array")
      } else {
        try OutputPlace.checkExtension(output: output, extension: "zarr", withoutExtension: true, what: "the Zarr array assemble writes")
      }
      if self.dtype == nil, let precision = try run.journal.replay().identity?.precision {
        dtype = AssembleDType(rawValue: precision.rawValue) ?? .float32
      }
      let options = TileAssembler.Options(
        dtype: dtype.npy, allowPartial: allowPartial, selection: try selection(), format: format,
        zarrVersion: zarrFormat == 2 ? .v2 : .v3, chunk: chunk, linkObjects: link,
        attributes: format == .zarr ? try ZarrAttributes.make(run: run, selection: selection(), dtype: dtype.rawValue) : [:])
      do {
        return try TileAssembler.assemble(run: run, output: output, options: options) { progress in
          do { try stop.check(done: progress.bytesDone, total: progress.bytesTotal) } catch {
            abandoned = stop.temporaries()
            throw error
          }
          display.update(progress)
        }
      } catch is AssembleSignalWatch.Stopped {
        display.finish()
        for path in abandoned where !SystemFile.kind(of: path).exists { StandardStream.error("removed \(path)\n") }
        StandardStream.error("ntkbatch: assemble stopped by \(SignalDelivery.name(of: stop.receivedSignal ?? SIGTERM)); \(output) is left as it was\n")
        throw ExitCode(CLIError.stoppedBySignal)
      }
    }
    display.finish()
    for leftover in report.removedLeftovers { print("removed leftover \(leftover) of an interrupted assemble") }
    let gigabytes = Double(report.matrixByteCount) / 1e9
    let rate = report.seconds > 0 ? gigabytes / report.seconds : 0
    var detail = ""
    if let chunks = report.chunks {
      detail = " (zarr v\(zarrFormat ?? 3); chunks: \(chunks.encoded) encoded, \(chunks.copied) copied, \(chunks.linked) linked, \(chunks.absent) absent)"
    }
    let shape = ShapeSize.description(report.shape ?? [report.rows, report.columns])
    print("wrote \(report.output): \(shape) \(dtype.rawValue)\(detail), \(Plural.count(report.byteCount, "byte")) on disk, \(String(format: "%.2f", gigabytes)) GB of matrix in \(String(format: "%.1f", report.seconds)) s (\(String(format: "%.2f", rate)) GB/s)")
    var maskPath: String?
    let stale = output + ".missing.json"
    if allowPartial && !report.missingTiles.isEmpty {
      let mask = try CLIError.reporting { try MissingTileMask.write(report: report, run: run) }
      maskPath = mask.path
      print("wrote \(mask.path): \(Plural.count(mask.missingCount, "missing tile")) (\(format == .zarr ? "absent chunks, read as NaN" : "filled with NaN"))")
    } else {
      // A complete output: the mask of an earlier --allow-partial no longer describes it. Only
      // ours (recorded in RUN/outputs.json, unchanged) is removed; a user's file of that name stays.
      if allowPartial { print("no tiles missing: no mask written") }
      if findings?.maskIsOurs == true {
        try CLIError.reporting { try SystemFile.remove(path: stale) }
        print("removed \(stale) of an earlier partial assemble")
      } else if findings?.maskExists == true {
        print("left \(stale): not the mask of an assemble of this run (recorded in \(AssembledOutputs.path(of: run))); it does not describe \(output)")
      }
    }
    // What lets a later assemble replace this output (and its mask) without --overwrite.
    do { try AssembledOutputs.record(output, mask: maskPath, run: run) } catch {
      StandardStream.error("warning: \(output) is not recorded in \(AssembledOutputs.path(of: run)) (\(error)); a later assemble to it needs --overwrite\n")
    }
  }
}

extension AssembleCommand {
  /// Option values wrong only for this run (bad input, `BadInput`: one line, exit 2), as they
  /// depend on the run's kernel (`ntk.kernel`): `--classes` for `trace` and `pseudo` (one value
  /// per sample pair, no classes), and two sample ranges for `diagonal` (only the blocks
  /// k(x_i, x_i) exist). An unreadable journal is left to `assemble`.
  func refuseOptionsTheKernelHasNo(_ run: RunDirectory) throws {
    guard classes != nil || samples?.contains(",") == true,
          let kernel = (try? run.journal.replay())?.identity?.kernel else { return }
    if classes != nil, kernel == .trace || kernel == .pseudo {
      throw CLIError.BadInput("--classes: the run's kernel is \(kernel.rawValue), one value per sample pair with no classes to select; leave out --classes")
    }
    if kernel == .diagonal, let selection = try? selection(), let columns = selection.columnSamples, columns != selection.rowSamples {
      throw CLIError.BadInput("--samples: the run's kernel is diagonal, only the blocks k(x_i, x_i) exist; give one range A:B")
    }
  }
}

extension TileAssembler.OutputFormat: ExpressibleByArgument {}
