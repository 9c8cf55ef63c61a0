import ArgumentParser
import Checkpoint
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

/// `ntkbatch assemble DIR --dtype … --output FILE.npy [--allow-partial]`: the full symmetric eNTK
/// as one `.npy`, and with `--allow-partial` a mask `FILE.npy.missing.json` of the tiles not
/// computed yet.
struct AssembleCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "assemble",
    abstract: "Write the full symmetric (n·10) × (n·10) eNTK of a run as a NumPy .npy file.",
    discussion: """
      Row and column i·10 + a are sample i, class a. The file is .npy version 1.0, C order; \
      numpy.load(path, mmap_mode="r") opens it. Refuses while tiles are missing (unless \
      --allow-partial), and refuses float16 if any value overflows it. Checks free space first; \
      the output appears atomically.

      With --allow-partial, tiles not computed yet are filled with NaN (in both triangles) and \
      a mask file OUTPUT.missing.json is written next to the output (atomically, also when \
      nothing is missing): {"output", "dimension", "outputsPerSample", "tileSamples", \
      "tilesTotal", "missingTiles": [{"index", "I", "J", "samples": {"rows": [start, end), \
      "columns": [start, end)}, "matrix": {"rows": [start, end), "columns": [start, end)}}]} \
      — sample ranges and matrix ranges are half-open; each missing tile also covers its \
      transpose.
      """)

  @Argument(help: "The run directory.")
  var runDirectory: String

  @Option(help: "Element type of the output: float16, float32 or float64.")
  var dtype: AssembleDType = .float32

  @Option(help: "The output .npy file.")
  var output: String

  @Flag(name: .customLong("allow-partial"), help: "Write NaN for tiles not computed yet and a mask OUTPUT.missing.json listing them.")
  var allowPartial = false

  func run() throws {
    let run = RunDirectory(path: runDirectory)
    let report = try CLIError.reporting {
      try TileAssembler.assemble(run: run, dtype: dtype.npy, output: output, allowPartial: allowPartial)
    }
    print("wrote \(report.output): \(report.dimension) × \(report.dimension) \(dtype.rawValue), \(report.byteCount) bytes")
    guard allowPartial else { return }
    let mask = try CLIError.reporting { try MissingTileMask.write(report: report, run: run) }
    print("wrote \(mask.path): \(mask.missingCount) missing tile(s) (filled with NaN)")
  }
}
