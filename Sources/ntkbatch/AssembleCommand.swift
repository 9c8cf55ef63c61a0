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

/// `ntkbatch assemble DIR --dtype … --output FILE.npy`: the full symmetric eNTK as one `.npy`.
struct AssembleCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "assemble",
    abstract: "Write the full symmetric (n·10) × (n·10) eNTK of a finished run as a NumPy .npy file.",
    discussion: """
      Row and column i·10 + a are sample i, class a. The file is .npy version 1.0, C order; \
      numpy.load(path, mmap_mode="r") opens it. Refuses while tiles are missing, and refuses \
      float16 if any value overflows it. The output appears atomically.
      """)

  @Argument(help: "The run directory.")
  var runDirectory: String

  @Option(help: "Element type of the output: float16, float32 or float64.")
  var dtype: AssembleDType = .float32

  @Option(help: "The output .npy file.")
  var output: String

  func run() throws {
    let report = try CLIError.reporting {
      try TileAssembler.assemble(run: RunDirectory(path: runDirectory), dtype: dtype.npy, output: output)
    }
    print("wrote \(report.output): \(report.dimension) × \(report.dimension) \(dtype.rawValue), \(report.byteCount) bytes")
  }
}
