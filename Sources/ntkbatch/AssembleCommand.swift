import ArgumentParser
import Checkpoint
import Engine
import Foundation
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
      numpy.load(path, mmap_mode="r") opens it. Zarr (--format zarr, or an output ending in \
      .zarr): a directory, format 3 (zarr.json, chunks c/I/J) or 2 (.zarray, chunks I/J), zstd, \
      chunks of one tile (or --chunk N rows and columns), fill value NaN, the run recorded in \
      its attributes; zarr.open(path) opens it lazily. Refuses while tiles are missing (unless \
      --allow-partial), when a tile holds NaN or infinity, and float16 when values overflow it. \
      Checks free space first; the output appears atomically, replacing an earlier one.

      --samples A:B writes only samples A…B−1 (rows and columns); A:B,C:D rows A…B−1 and \
      columns C…D−1. --classes 0,3,7 keeps those outputs (in that order): row \
      (i − A)·k + position of the class.

      With --allow-partial, tiles not computed yet are NaN (.npy) or absent chunks (Zarr: read \
      as NaN), in both triangles, and a mask OUTPUT.missing.json is written next to the output \
      (atomically, also when nothing is missing): {"output", "dimension", "rows", "columns", \
      "samples", "classes", "outputsPerSample", "tileSamples", "tilesTotal", "missingTiles": \
      [{"index", "I", "J", "samples": {"rows", "columns"}, "matrix": {"rows", "columns"}, \
      "blocks": [{"rows", "columns"}]}]} — ranges half-open; "matrix" in the full matrix, \
      "blocks" in the output (the tile and its transpose).
      """)

  @Argument(help: "The run directory.")
  var runDirectory: String

  @Option(help: "Element type of the output: float16, float32 or float64.")
  var dtype: AssembleDType = .float32

  @Option(help: "The output: a .npy file, or a Zarr array directory (e.g. G.zarr).")
  var output: String

  @Option(help: "npy or zarr (default: zarr when the output ends in .zarr, else npy).")
  var format: TileAssembler.OutputFormat?

  @Option(name: .customLong("zarr-format"), help: "Zarr format version: 3 (default) or 2 (for zarr-python 2.x).")
  var zarrFormat: Int?

  @Option(help: "Zarr chunk side in rows and columns (a multiple of the classes kept); default: one tile.")
  var chunk: Int?

  @Option(help: "Samples A:B (rows and columns) or A:B,C:D (rows A…B−1, columns C…D−1); default: all.")
  var samples: String?

  @Option(help: "Classes to keep, e.g. 0,3,7 (in that order); default: all 10.")
  var classes: String?

  @Flag(help: "Zarr: hard-link stored tiles as chunks where the file system allows, instead of copying them (do not then write to the array: a chunk rewritten in place would change the run's object).")
  var link = false

  @Flag(name: .customLong("allow-partial"), help: "Write NaN (absent Zarr chunks) for tiles not computed yet and a mask OUTPUT.missing.json listing them.")
  var allowPartial = false

  @Option(help: "Progress on stderr: auto (a bar on a terminal, a line every 10 s otherwise), bar, lines, none.")
  var progress: AssembleProgress.Mode = .auto

  var resolvedFormat: TileAssembler.OutputFormat {
    format ?? (output.hasSuffix(".zarr") || output.hasSuffix(".zarr/") ? .zarr : .npy)
  }

  func validate() throws {
    if resolvedFormat != .zarr && (zarrFormat != nil || chunk != nil || link) {
      throw ValidationError("--zarr-format, --chunk and --link apply to Zarr output only (--format zarr or an output ending in .zarr)")
    }
    if let zarrFormat, ![2, 3].contains(zarrFormat) { throw ValidationError("--zarr-format must be 2 or 3, not \(zarrFormat)") }
    if let chunk, chunk <= 0 { throw ValidationError("--chunk must be positive, not \(chunk)") }
    _ = try selection()
  }

  /// `--samples` and `--classes` as a selection.
  func selection() throws -> AssemblySelection {
    var selection = AssemblySelection()
    if let samples {
      let parts = samples.split(separator: ",", omittingEmptySubsequences: false)
      guard (1...2).contains(parts.count) else { throw ValidationError("--samples: expected A:B or A:B,C:D, found \(samples)") }
      let ranges = try parts.map { part -> Range<Int> in
        let bounds = part.split(separator: ":", omittingEmptySubsequences: false)
        guard bounds.count == 2, let a = Int(bounds[0]), let b = Int(bounds[1]), a >= 0, a < b else {
          throw ValidationError("--samples: expected A:B with 0 ≤ A < B, found \(part)")
        }
        return a..<b
      }
      selection.rowSamples = ranges[0]
      selection.columnSamples = ranges.count == 2 ? ranges[1] : ranges[0]
    }
    if let classes {
      let values = classes.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
      guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { throw ValidationError("--classes: expected a list like 0,3,7, found \(classes)") }
      selection.classes = values.map { $0! }
    }
    return selection
  }

  func run() throws {
    let run = RunDirectory(path: runDirectory)
    let format = resolvedFormat
    var display = AssembleProgress(mode: progress)
    let report = try CLIError.reporting { () -> TileAssembler.Report in
      let options = TileAssembler.Options(
        dtype: dtype.npy, allowPartial: allowPartial, selection: try selection(), format: format,
        zarrVersion: zarrFormat == 2 ? .v2 : .v3, chunk: chunk, linkObjects: link,
        attributes: format == .zarr ? try ZarrAttributes.make(run: run, selection: selection(), dtype: dtype.rawValue) : [:])
      return try TileAssembler.assemble(run: run, output: output, options: options) { display.update($0) }
    }
    display.finish()
    for leftover in report.removedLeftovers { print("removed leftover \(leftover) of an interrupted assemble") }
    let gigabytes = Double(report.matrixByteCount) / 1e9
    let rate = report.seconds > 0 ? gigabytes / report.seconds : 0
    var detail = ""
    if let chunks = report.chunks {
      detail = " (zarr v\(zarrFormat ?? 3); chunks: \(chunks.encoded) encoded, \(chunks.copied) copied, \(chunks.linked) linked, \(chunks.absent) absent)"
    }
    print("wrote \(report.output): \(report.rows) × \(report.columns) \(dtype.rawValue)\(detail), \(report.byteCount) bytes on disk, \(String(format: "%.2f", gigabytes)) GB of matrix in \(String(format: "%.1f", report.seconds)) s (\(String(format: "%.2f", rate)) GB/s)")
    guard allowPartial else { return }
    let mask = try CLIError.reporting { try MissingTileMask.write(report: report, run: run) }
    print("wrote \(mask.path): \(mask.missingCount) missing tile(s) (\(format == .zarr ? "absent chunks, read as NaN" : "filled with NaN"))")
  }
}

extension TileAssembler.OutputFormat: ExpressibleByArgument {}

/// The attributes of an assembled Zarr array: the run that produced it.
enum ZarrAttributes {
  /// model, width, P, n, tileSamples, normalization, precision, dataset, the identity hashes, the
  /// layout and the selection.
  ///
  /// - Throws: `CheckpointError` (journal), `BadInput` if `RUN/manifest.json` is unreadable.
  static func make(run: RunDirectory, selection: AssemblySelection, dtype: String) throws -> [String: Any] {
    guard let identity = try run.journal.replay().identity else {
      throw CheckpointError(.incomplete, "\(run.path): no tile computed yet (the journal has no session header)")
    }
    guard let data = FileManager.default.contents(atPath: run.manifestPath),
          let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw CLIError.BadInput("\(run.manifestPath): cannot read the run's manifest (expected a JSON object)")
    }
    let model = manifest["model"] as? [String: Any] ?? [:]
    let name = model["name"] as? String ?? ""
    let width = model["width"] as? Int ?? 0
    var attributes: [String: Any] = [
      "ntkbatch": ["attributesVersion": 1, "run": URL(fileURLWithPath: run.path).standardizedFileURL.path],
      "model": name, "modelWidth": width,
      "n": identity.sampleCount, "outputsPerSample": identity.outputsPerSample, "tileSamples": identity.tileSamples,
      "normalization": identity.normalization.rawValue, "precision": identity.precision.rawValue, "dtype": dtype,
      "dataset": manifest["dataset"] ?? NSNull(),
      "inputDataHash": identity.inputDataHash.hex, "weightsHash": identity.weightsHash.hex, "manifestHash": identity.manifestHash.hex,
    ]
    if let weights = model["weights"] { attributes["weights"] = weights }
    if let parameters = try? ModelZoo.make(name: name, width: width, scalar: Float.self).parameterCount {
      attributes["P"] = parameters
    }
    let plan = try identity.plan()
    let resolved = try selection.resolved(for: plan)
    let m = identity.outputsPerSample
    attributes["samples"] = ["rows": [resolved.rows.lowerBound, resolved.rows.upperBound],
                             "columns": [resolved.columns.lowerBound, resolved.columns.upperBound]]
    attributes["classes"] = resolved.classes
    attributes["layout"] = resolved.allClasses && resolved.rows.lowerBound == 0 && resolved.columns.lowerBound == 0
      ? "row = sample·\(m) + class"
      : "row = (sample − \(resolved.rows.lowerBound))·\(resolved.classes.count) + position of the class in classes; column = (sample − \(resolved.columns.lowerBound))·\(resolved.classes.count) + position of the class"
    return attributes
  }
}

/// Progress of `assemble` on stderr: bytes of matrix written of the total, bytes/s and ETA.
struct AssembleProgress {
  enum Mode: String, ExpressibleByArgument, CaseIterable {
    case auto, bar, lines, none
  }

  var mode: Mode
  var interval: TimeInterval = 10
  private let start = Date()
  private var lastLine = Date()
  private var drawn = false

  init(mode: Mode) {
    self.mode = mode == .auto ? (isatty(STDERR_FILENO) == 1 ? .bar : .lines) : mode
  }

  mutating func update(_ progress: TileAssembler.Progress) {
    let now = Date()
    let elapsed = now.timeIntervalSince(start)
    let rate = elapsed > 0 ? Double(progress.bytesDone) / elapsed : 0
    let remaining = rate > 0 ? Double(progress.bytesTotal - progress.bytesDone) / rate : 0
    let fraction = progress.bytesTotal > 0 ? Double(progress.bytesDone) / Double(progress.bytesTotal) : 1
    let text = String(format: "assemble: %.2f of %.2f GB (%.0f%%), %.0f MB/s, ETA %@",
                      Double(progress.bytesDone) / 1e9, Double(progress.bytesTotal) / 1e9, 100 * fraction, rate / 1e6,
                      ProgressDisplay.duration(remaining))
    switch mode {
    case .bar:
      let width = 28
      let filled = Int((fraction * Double(width)).rounded(.down))
      FileHandle.standardError.write(Data(("\r[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] " + text + "\u{1B}[K").utf8))
      drawn = true
    case .lines:
      if now.timeIntervalSince(lastLine) >= interval || progress.bytesDone == progress.bytesTotal {
        lastLine = now
        FileHandle.standardError.write(Data((text + "\n").utf8))
      }
    case .none, .auto:
      break
    }
  }

  func finish() {
    if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
  }
}
