import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// The OpenBLAS kernel set ("core") the engine's GEMMs run on, and its correction when OpenBLAS
/// does not know the CPU.
///
/// A `DYNAMIC_ARCH` OpenBLAS (Debian's `libopenblas0-pthread`) picks its kernels from the CPU
/// model at load time. A CPU model newer than the library (OpenBLAS 0.3.21 and e.g. Intel family 6
/// model 207, Emerald Rapids, as cloud VMs report it) falls back to the `Prescott` core: SSE3
/// kernels at a fraction of the machine's SGEMM rate (measured 31 against 95 GFLOP/s for a 2048²
/// SGEMM on a 2-core AVX-512 Xeon, 2 threads). When OpenBLAS reports `Prescott` while the kernel
/// lists AVX-512 (F, BW, DQ, VL) or AVX2 + FMA in `/proc/cpuinfo` (flags the kernel only lists when
/// it saves their registers), `selectCore()` re-runs OpenBLAS's own selection
/// (`gotoblas_dynamic_quit` / `gotoblas_dynamic_init`, looked up with `dlsym`, so a library
/// without them is left alone) under `OPENBLAS_CORETYPE=SkylakeX` (resp. `Haswell`), the
/// documented way to force a core, and restores the environment afterwards. An
/// `OPENBLAS_CORETYPE` set by the user is always respected.
///
/// Runs once, before the first BLAS call of the engine (`BLASScalar`'s routines trigger it).
/// Tiles depend on the kernels at the rounding level, so byte-identical tiles across sessions
/// need the same core (as they need the same `OPENBLAS_NUM_THREADS`); the choice is a function
/// of the machine, so a resumed run on the same machine gets the same one.
public enum BLASCore {
  /// What was done, once per process: `nil` when OpenBLAS's own choice was kept, else the core
  /// forced (e.g. `"SkylakeX"`).
  public static let forced: String? = selectCore()

  /// The threads OpenBLAS computes with (`OPENBLAS_NUM_THREADS`, else the cores it found): the
  /// cores a run uses, which other multi-threaded work of the run (tile compression) may use
  /// while no BLAS call runs.
  public static var threadCount: Int { Int(openblas_get_num_threads()) }

  /// The core OpenBLAS now runs (`openblas_get_corename`), e.g. `"SkylakeX"`, `"Haswell"`, `"Prescott"`.
  public static var name: String {
    _ = forced
    return String(cString: openblas_get_corename())
  }

  /// One line for logs and benchmarks: `blas_core=SkylakeX (forced; OpenBLAS chose Prescott)`.
  public static var summary: String {
    if let core = forced { return "blas_core=\(name) (forced \(core); OpenBLAS chose Prescott)" }
    return "blas_core=\(name)"
  }

  /// Makes sure the selection ran (cheap after the first call).
  @inline(__always)
  static func ensureSelected() { _ = forced }

  private static func selectCore() -> String? {
    guard getenv("OPENBLAS_CORETYPE") == nil else { return nil }
    guard String(cString: openblas_get_corename()).lowercased() == "prescott" else { return nil }
    let flags = cpuFlags()
    let target: String
    if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) {
      target = "SkylakeX"
    } else if flags.contains("avx2") && flags.contains("fma") {
      target = "Haswell"
    } else {
      return nil
    }
    typealias Hook = @convention(c) () -> Void
    guard let handle = dlopen(nil, RTLD_NOW),
          let quitSymbol = dlsym(handle, "gotoblas_dynamic_quit"),
          let initSymbol = dlsym(handle, "gotoblas_dynamic_init")
    else { return nil }
    let quit = unsafeBitCast(quitSymbol, to: Hook.self)
    let initialise = unsafeBitCast(initSymbol, to: Hook.self)
    setenv("OPENBLAS_CORETYPE", target, 1)
    quit()
    initialise()
    unsetenv("OPENBLAS_CORETYPE")
    return String(cString: openblas_get_corename()).lowercased() == target.lowercased() ? target : nil
  }

  /// The `flags` line of the first processor in `/proc/cpuinfo`, split on spaces (empty if unreadable).
  private static func cpuFlags() -> Set<String> {
    guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
    defer { fclose(file) }
    var line: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, file) > 0 {
      let text = String(cString: line!)
      guard text.hasPrefix("flags") else { continue }
      let value = text.split(separator: ":", maxSplits: 1).dropFirst().first ?? ""
      return Set(value.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init))
    }
    return []
  }
}
