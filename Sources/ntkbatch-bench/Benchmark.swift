import Checkpoint
import Datasets
import Engine
import Pipeline
import Foundation

/// `ntkbatch-bench`: the measurements behind `tools/bench` (a benchmark, not a test).
///
///     ntkbatch-bench gemm                         SGEMM and DGEMM GFLOP/s, large square products
///     ntkbatch-bench ntk MODEL WIDTH N [BUDGET [KERNEL]]   every tile of the n×n eNTK (float32), MNIST
///                                                 inputs; BUDGET 0 = default; KERNEL full (default),
///                                                 trace, pseudo or diagonal (`NTKVariant`)
///     ntkbatch-bench inputs N FILE                those n inputs as raw float32 [n, 3, 32, 32] (for the peer)
///
/// `ntk` plans tiles as `run` does (`TileMemoryPlan`, budget in bytes, default 3/4 of
/// MemAvailable), computes every tile of the upper triangle with a `TileSource` and discards it
/// (no compression, no journal), then prints one `key=value` line: seconds, pairs/s
/// (n(n+1)/2 over seconds), CPU seconds (all threads) and modelled GFLOP per CPU second, Jacobian and contraction seconds, the contraction's GFLOP/s, the
/// tile size and strategy, and the peak resident size (VmHWM). Threads: `OPENBLAS_NUM_THREADS`.
@main
enum Benchmark {
  static func main() throws {
    let arguments = Array(CommandLine.arguments.dropFirst())
    switch arguments.first {
    case "gemm":
      let size = arguments.count > 1 ? Int(arguments[1]) ?? 4096 : 4096
      print("sgemm_gflops=\(format(gemmRate(Float.self, size: size))) dgemm_gflops=\(format(gemmRate(Double.self, size: size))) size=\(size) \(BLASCore.summary)")
    case "inputs" where arguments.count == 3:
      // The first n images as the benchmark prepares them, raw float32 [n, 3, 32, 32] (for the peer).
      guard let n = Int(arguments[1]) else { usage() }
      let inputs = try mnist(samples: n)
      let bytes = inputs.storage.withUnsafeBytes { Data($0) }
      guard FileManager.default.createFile(atPath: arguments[2], contents: bytes) else {
        FileHandle.standardError.write(Data("ntkbatch-bench: cannot write \(arguments[2])\n".utf8))
        exit(1)
      }
    case "ntk" where arguments.count >= 4:
      guard let width = Int(arguments[2]), let n = Int(arguments[3]) else { usage() }
      let budget = arguments.count > 4 ? Int(arguments[4]).flatMap { $0 > 0 ? $0 : nil } : nil
      guard let variant = arguments.count > 5 ? NTKVariant(rawValue: arguments[5]) : .full else { usage() }
      try ntk(model: arguments[1], width: width, samples: n, budget: budget, variant: variant)
    default:
      usage()
    }
  }

  static func usage() -> Never {
    FileHandle.standardError.write(Data("usage: ntkbatch-bench gemm [SIZE] | ntk MODEL WIDTH N [BUDGET_BYTES [full|trace|pseudo|diagonal]] | inputs N FILE\n".utf8))
    exit(2)
  }

  /// Best of three `C = A B` products of `size × size` matrices, in GFLOP/s (`2·size³` FLOP each).
  static func gemmRate<T: BLASScalar>(_: T.Type, size: Int) -> Double {
    let a = [T](repeating: 1, count: size * size)
    let b = [T](repeating: 1, count: size * size)
    var c = [T](repeating: 0, count: size * size)
    var best = Double.infinity
    for _ in 0..<3 {
      let start = Date()
      a.withUnsafeBufferPointer { x in
        b.withUnsafeBufferPointer { y in
          c.withUnsafeMutableBufferPointer { z in
            T.gemm(transposeA: false, transposeB: false, m: size, n: size, k: size, alpha: 1, a: x.baseAddress!, lda: size,
                   b: y.baseAddress!, ldb: size, beta: 0, c: z.baseAddress!, ldc: size)
          }
        }
      }
      best = min(best, Date().timeIntervalSince(start))
    }
    return 2 * pow(Double(size), 3) / best / 1e9
  }

  static func ntk(model name: String, width: Int, samples n: Int, budget: Int?, variant: NTKVariant = .full) throws {
    var model = try ModelZoo.make(name: name, width: width, scalar: Float.self)
    model.initialize(seed: 0)
    let inputs = try mnist(samples: n)
    let budgetBytes = budget ?? (availableBytes() / 4 * 3)
    let plan = try TileMemoryPlan.make(model: model, sampleCount: n, budgetBytes: budgetBytes,
                                       baseBytes: residentBytes() + (64 << 20), tileSamples: nil, variant: variant)
    let scale = Float(1 / Double(model.parameterCount).squareRoot())
    let source = TileSource(model: model, inputs: inputs, scale: scale, tileSamples: plan.tileSamples,
                            strategy: plan.strategy, cacheBytes: plan.cacheBytes, choice: plan.contraction, variant: variant)
    let start = Date()
    let cpuStart = cpuSeconds()
    var checksum = 0.0
    // The upper block triangle as a run plans it (the diagonal kernel: its diagonal tiles only).
    for tile in try TilePlan(sampleCount: n, tileSamples: plan.tileSamples, precision: .float32).tiles
    where variant != .diagonal || tile.isDiagonal {
      checksum += Double(try source.tile(rows: tile.rows, columns: tile.columns)[0])
    }
    let seconds = Date().timeIntervalSince(start)
    let cpu = cpuSeconds() - cpuStart
    let s = source.statistics
    let factorFLOP = Double(s.samplesComputed) * factorFLOPPerSample(model, choice: plan.contraction,
                                                                     rows: variant.jacobianOutputs(outputs: model.outputsPerSample))
    let pairs = Double(variant == .diagonal ? n : n * (n + 1) / 2)
    print([
      "model=\(name)", "kernel=\(variant.rawValue)", "width=\(width)", "P=\(model.parameterCount)", "n=\(n)",
      "seconds=\(format(seconds))", "pairs_per_s=\(format(pairs / seconds))", "cpu_s=\(format(cpu))",
      "gflop_per_cpu_s=\(format((s.contractionFLOP + factorFLOP) / max(1e-9, cpu) / 1e9))",
      "jacobian_s=\(format(s.jacobianSeconds))", "contraction_s=\(format(s.contractionSeconds))",
      "materialise_s=\(format(s.materialisationSeconds))",
      "contraction_gflops=\(format(s.contractionFLOP / max(1e-9, s.contractionSeconds - s.materialisationSeconds) / 1e9))",
      "contraction_gflop=\(format(s.contractionFLOP / 1e9))", "structured_gflop=\(format(s.structuredFLOP / 1e9))",
      "factor_gflop=\(format(factorFLOP / 1e9))", "factor_gflops=\(format(factorFLOP / max(1e-9, s.jacobianSeconds) / 1e9))",
      "structured_layers=\(plan.contraction.layers.filter(\.structured).count)/\(plan.contraction.layers.count)",
      "tile_samples=\(plan.tileSamples)", "strategy=\(plan.strategy.rawValue)", "blocks_computed=\(s.blocksComputed)",
      "budget_mib=\(budgetBytes >> 20)", "peak_rss_mib=\(peakResidentBytes() >> 20)", "checksum=\(checksum)",
    ].joined(separator: " "))
    print("layers: " + plan.contraction.summary)
  }

  /// Modelled FLOP of one sample's factors (forward pass, the m-row reverse pass, and the explicit
  /// layers' rows): per Conv2d `2·out·K_g·L` forward, `m·` that for the input cotangent (none for
  /// the first layer) and, when explicit, `m·` that again for its rows; per Linear `2·in·out`
  /// likewise. Pooling, BatchNorm and activations are not counted (memory-bound, small).
  static func factorFLOPPerSample(_ model: Model<Float>, choice: ContractionChoice, rows: Int) -> Double {
    let m = Double(rows)  // reverse-pass rows per sample: 10, or 1 for the pseudo kernel
    var total = 0.0
    for (index, node) in model.nodes.enumerated() {
      var forward = 0.0
      if let conv = node.layer as? Conv2d<Float> {
        let L = Double(node.outputShape.dropFirst().reduce(1, *))
        forward = 2 * Double(conv.outChannels * conv.inChannels / conv.groups * conv.kernelSize * conv.kernelSize) * L
      } else if let linear = node.layer as? Linear<Float> {
        forward = 2 * Double(linear.inputs * linear.outputs)
      } else {
        continue
      }
      let reverse = node.inputs[0] == ModelNode<Float>.modelInput ? 0 : m * forward
      let rows = choice.isStructured(node: index) ? 0 : m * forward
      total += forward + reverse + rows
    }
    return total
  }

  /// The first n images of the uncompressed MNIST IDX file `NTKBATCH_MNIST_IMAGES` (tools/bench
  /// unpacks `data/mnist-sample`, 5,000 images), as `run` prepares them (28 → 32, 3 channels).
  static func mnist(samples n: Int) throws -> Tensor<Float> {
    let path = ProcessInfo.processInfo.environment["NTKBATCH_MNIST_IMAGES"] ?? "train-images-idx3-ubyte"
    guard let data = FileManager.default.contents(atPath: path) else {
      FileHandle.standardError.write(Data("ntkbatch-bench: cannot read \(path) (set NTKBATCH_MNIST_IMAGES)\n".utf8))
      exit(2)
    }
    let images = try IDXFile(bytes: [UInt8](data), name: path)
    return try MNISTTransform().tensor(images: images, range: 0..<n, scalar: Float.self)
  }

  /// CPU seconds of this process so far, all threads (`CLOCK_PROCESS_CPUTIME_ID`): the work done,
  /// whatever share of the cores other processes took.
  static func cpuSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
  }

  static func format(_ value: Double) -> String { String(format: value < 10 ? "%.3f" : "%.1f", value) }

  static func availableBytes() -> Int { ProcessMemory.availableBytes() ?? (4 << 30) }
  static func residentBytes() -> Int { ProcessMemory.residentBytes() ?? 0 }
  static func peakResidentBytes() -> Int { ProcessMemory.peakResidentBytes() ?? 0 }
}
