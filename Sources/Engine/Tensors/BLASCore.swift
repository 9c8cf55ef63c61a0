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
/// It also shortens how long OpenBLAS's idle threads spin. After every multi-threaded call an
/// OpenBLAS worker thread busy-waits (`sched_yield` in a loop) for `2^OPENBLAS_THREAD_TIMEOUT`
/// cycles before it sleeps; the default, 2^28 (about 0.1 s), outlasts the gap between two BLAS
/// calls of the factor phase, so the spinning thread competes with the engine's own loops
/// (`ParallelRows`) for the same cores: measured with `perf` on resnet50 width 16, the OpenBLAS
/// worker spent 17 % of all CPU samples in `sched_yield` and 3 % computing. `shortenThreadTimeout()`
/// sets the timeout to `2^threadTimeoutExponent` cycles (about 0.3 ms) by re-reading OpenBLAS's
/// environment (`openblas_read_env`) and restarting its thread pool (`blas_thread_shutdown_`,
/// `blas_thread_init`), all looked up with `dlsym` (a library without them is left alone). A user's
/// `OPENBLAS_THREAD_TIMEOUT` is always respected. Results do not depend on it (same kernels, same
/// split).
///
/// Runs once, before the first BLAS call of the engine (`BLASScalar`'s routines trigger it).
/// Tiles depend on the kernels at the rounding level, so byte-identical tiles across sessions
/// need the same core (as they need the same `OPENBLAS_NUM_THREADS`); the choice is a function
/// of the machine, so a resumed run on the same machine gets the same one.
public enum BLASCore {
  /// What was done, once per process: `nil` when OpenBLAS's own choice was kept, else the core
  /// forced (e.g. `"SkylakeX"`).
  public static var forced: String? { setup.forced }

  /// The idle-thread timeout the engine set (`threadTimeoutExponent`), or `nil` when OpenBLAS's
  /// was kept (the user set `OPENBLAS_THREAD_TIMEOUT`, or a library without the hooks).
  public static var shortenedThreadTimeout: Int? { setup.threadTimeout }

  /// The idle-thread timeout the engine sets, as OpenBLAS's exponent: `2^20` cycles, about 0.3 ms
  /// at 3 GHz: long enough to bridge the back-to-back calls of one GEMM-heavy phase, short enough
  /// that the thread sleeps during the engine's own parallel loops. Tried on a 2-core AVX-512 Xeon
  /// against 28 (the default), 14 and 4 (sleep at once, which made wrn-28-2 about 10 % slower);
  /// `tools/bench` on the quiet machine, before and after: lenet n = 200 11 %, resnet18 width 16
  /// 14 %, resnet50 width 16 10 % faster, wrn-28-2 2 %.
  public static let threadTimeoutExponent = 20

  /// Both one-time adjustments, in order: the core first, then the thread pool.
  private static let setup: (forced: String?, threadTimeout: Int?) = {
    let forced = selectCore()
    return (forced, shortenThreadTimeout())
  }()

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
  /// With the timeout: `blas_core=SkylakeX thread_timeout=2^20`.
  public static var summary: String {
    var text = "blas_core=\(name)"
    if let core = forced { text += " (forced \(core); OpenBLAS chose Prescott)" }
    if let exponent = shortenedThreadTimeout { text += " thread_timeout=2^\(exponent)" }
    return text
  }

  /// Makes sure the selection ran (cheap after the first call).
  @inline(__always)
  static func ensureSelected() { _ = setup }

  private static func shortenThreadTimeout() -> Int? {
    guard getenv("OPENBLAS_THREAD_TIMEOUT") == nil else { return nil }
    typealias Hook = @convention(c) () -> Int32
    typealias ReadEnvironment = @convention(c) () -> Void
    guard let handle = dlopen(nil, RTLD_NOW),
          let readSymbol = dlsym(handle, "openblas_read_env"),
          let timeoutSymbol = dlsym(handle, "openblas_thread_timeout"),
          let shutdownSymbol = dlsym(handle, "blas_thread_shutdown_"),
          let initSymbol = dlsym(handle, "blas_thread_init")
    else { return nil }
    let readEnvironment = unsafeBitCast(readSymbol, to: ReadEnvironment.self)
    let timeout = unsafeBitCast(timeoutSymbol, to: Hook.self)
    setenv("OPENBLAS_THREAD_TIMEOUT", String(threadTimeoutExponent), 1)
    readEnvironment()
    unsetenv("OPENBLAS_THREAD_TIMEOUT")
    guard timeout() == Int32(threadTimeoutExponent) else { return nil }
    _ = unsafeBitCast(shutdownSymbol, to: Hook.self)()
    _ = unsafeBitCast(initSymbol, to: Hook.self)()
    return threadTimeoutExponent
  }

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
