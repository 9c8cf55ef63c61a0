import Foundation
import Storage
import XCTest

/// A real one-node Slurm cluster on this machine (Debian's `slurm-wlm` and `munge`, installed
/// with apt-get when missing; munged, slurmctld and slurmd started here without systemd, stopped
/// in tearDown also when the test fails): the scripts `ntkbatch slurm` writes compute LeNet on 300
/// MNIST digits as a 4-task job array over one run directory; one task is preempted mid-tile
/// (`scancel --signal=TERM --batch`; on a fast CPU the signal may land between two tiles), exits
/// 75 and requeues itself; the dependent job verifies and assembles; the matrix equals a
/// single-process run's byte for byte.
final class SlurmClusterTests: XCTestCase {
  private var work = ""
  /// Process ids of munged, slurmctld and slurmd, in start order.
  private var daemons: [pid_t] = []
  private var environment: [String: String] = [:]

  override func setUpWithError() throws {
    // A short path without white space (it goes into slurm.conf and #SBATCH lines).
    work = "/tmp/ntkbatch-slurm-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    stopCluster()
    try? FileManager.default.removeItem(atPath: work)
  }

  // MARK: - The cluster

  /// Starts `path arguments…` with posix_spawn (not Foundation's Process: the daemons and their
  /// children are reaped here, by pid), output appended to `log`.
  private func spawn(_ path: String, _ arguments: [String], log: String) throws -> pid_t {
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    env["DEBIAN_FRONTEND"] = "noninteractive"
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    // An empty signal mask and default actions: the test runner's threads block signals, and
    // slurmctld, slurmd and scancel rely on theirs.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t(), all = sigset_t()
    sigemptyset(&empty)
    sigfillset(&all)
    sigdelset(&all, SIGKILL)
    sigdelset(&all, SIGSTOP)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let code = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
    guard code == 0 else { throw NSError(domain: "posix_spawn", code: Int(code), userInfo: [NSLocalizedDescriptionKey: "\(path): \(String(cString: strerror(code)))"]) }
    return pid
  }

  /// Waits up to `timeout` seconds for `pid`; its exit status, or nil if it is still running.
  private func wait(_ pid: pid_t, timeout: Double) -> Int32? {
    let deadline = Date().addingTimeInterval(timeout)
    var status: Int32 = 0
    repeat {
      let done = waitpid(pid, &status, WNOHANG)
      if done == pid { return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f) }
      if done < 0 { return -1 }
      usleep(20_000)
    } while Date() < deadline
    return nil
  }

  /// Runs a shell command to completion; returns (status, stdout + stderr).
  @discardableResult
  private func shell(_ command: String, timeout: Double = 600) throws -> (status: Int32, output: String) {
    let log = "\(work)/shell-\(UUID().uuidString.prefix(8)).log"
    let pid = try spawn("/bin/bash", ["-c", command], log: log)
    var status = wait(pid, timeout: timeout)
    if status == nil {
      kill(pid, SIGKILL)
      status = wait(pid, timeout: 10)
    }
    let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    try? FileManager.default.removeItem(atPath: log)
    return (status ?? -1, output)
  }

  private func installSlurmIfMissing() throws {
    let tools = ["/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch", "/usr/bin/scontrol"]
    guard !tools.allSatisfy(FileManager.default.isExecutableFile(atPath:)) else { return }
    let install = try shell("apt-get update -qq && apt-get install -y -qq slurm-wlm munge", timeout: 900)
    XCTAssertEqual(install.status, 0, "apt-get install slurm-wlm munge failed:\n\(install.output.suffix(3000))")
  }

  private func startDaemon(_ path: String, _ arguments: [String], log: String) throws {
    daemons.append(try spawn(path, arguments, log: log))
  }

  private func startCluster() throws {
    for directory in ["munge", "state", "spool", "log"] {
      try FileManager.default.createDirectory(atPath: "\(work)/\(directory)", withIntermediateDirectories: true)
    }
    chmod("\(work)/munge", 0o700)
    var key = [UInt8](repeating: 0, count: 1024)
    for i in key.indices { key[i] = UInt8.random(in: 0...255) }
    try Data(key).write(to: URL(fileURLWithPath: "\(work)/munge/munge.key"))
    chmod("\(work)/munge/munge.key", 0o400)
    let socket = "\(work)/munge/munge.socket"
    let port = Int.random(in: 20_000...29_000)
    let conf = """
      ClusterName=ntkbatchtest
      SlurmctldHost=localhost
      SlurmctldPort=\(port)
      SlurmdPort=\(port + 1)
      AuthType=auth/munge
      CredType=cred/munge
      AuthInfo=socket=\(socket)
      SlurmUser=root
      SlurmdUser=root
      StateSaveLocation=\(work)/state
      SlurmdSpoolDir=\(work)/spool
      SlurmctldPidFile=\(work)/slurmctld.pid
      SlurmdPidFile=\(work)/slurmd.pid
      SlurmctldLogFile=\(work)/log/slurmctld.log
      SlurmdLogFile=\(work)/log/slurmd.log
      ProctrackType=proctrack/linuxproc
      TaskPlugin=task/none
      SelectType=select/cons_tres
      SelectTypeParameters=CR_CPU
      SchedulerType=sched/backfill
      JobRequeue=1
      ReturnToService=2
      MpiDefault=none
      SwitchType=switch/none
      JobCompType=jobcomp/none
      AccountingStorageType=accounting_storage/none
      JobAcctGatherType=jobacct_gather/none
      KillWait=30
      MinJobAge=600
      NodeName=localhost CPUs=\(ProcessInfo.processInfo.activeProcessorCount) RealMemory=1000 State=UNKNOWN
      PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP

      """
    try conf.write(toFile: "\(work)/slurm.conf", atomically: true, encoding: .utf8)
    environment["SLURM_CONF"] = "\(work)/slurm.conf"
    try startDaemon("/usr/sbin/munged", ["-F", "--force", "--socket=\(socket)", "--key-file=\(work)/munge/munge.key",
                                          "--log-file=\(work)/munge/munged.log", "--pid-file=\(work)/munge/munged.pid",
                                          "--seed-file=\(work)/munge/munged.seed"], log: "\(work)/log/munged.out")
    var deadline = Date().addingTimeInterval(20)
    while !FileManager.default.fileExists(atPath: socket), Date() < deadline { usleep(50_000) }
    XCTAssertTrue(FileManager.default.fileExists(atPath: socket), "munged did not start: \(log("munged.out"))")
    try startDaemon("/usr/sbin/slurmctld", ["-D", "-i", "-f", "\(work)/slurm.conf"], log: "\(work)/log/slurmctld.out")
    try startDaemon("/usr/sbin/slurmd", ["-D", "-N", "localhost", "-f", "\(work)/slurm.conf"], log: "\(work)/log/slurmd.out")
    deadline = Date().addingTimeInterval(90)
    var state = ""
    while Date() < deadline {
      state = (try? shell("sinfo -h -N -o %T", timeout: 20).output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? ""
      if state == "idle" { break }
      usleep(500_000)
    }
    XCTAssertEqual(state, "idle", "the node did not come up:\n\(log("slurmctld.log").suffix(2000))\n\(log("slurmd.log").suffix(2000))")
  }

  private func log(_ name: String) -> String {
    (try? String(contentsOfFile: "\(work)/log/\(name)", encoding: .utf8)) ?? "(no \(name))"
  }

  /// Cancels every job, stops slurmd, slurmctld and munged (SIGTERM, then SIGKILL), and kills any
  /// job step left from this cluster (found by its SLURM_CONF).
  private func stopCluster() {
    guard !daemons.isEmpty else { return }
    _ = try? shell("scancel --user=root --full", timeout: 20)
    usleep(500_000)
    for pid in daemons.reversed() {
      kill(pid, SIGTERM)
      if wait(pid, timeout: 15) == nil {
        kill(pid, SIGKILL)
        _ = wait(pid, timeout: 10)
      }
    }
    daemons = []
    for pid in leftoverProcesses() { kill(pid, SIGKILL) }
    // A process killed a moment ago may still be tearing down: give the kernel a few seconds.
    let deadline = Date().addingTimeInterval(10)
    while !leftoverProcesses().isEmpty, Date() < deadline { usleep(100_000) }
    XCTAssertEqual(leftoverProcesses(), [], "processes of the test cluster still running")
  }

  /// Processes whose environment names this cluster's slurm.conf (job steps, tasks).
  private func leftoverProcesses() -> [pid_t] {
    let marker = Array("SLURM_CONF=\(work)/slurm.conf".utf8)
    let own = ProcessInfo.processInfo.processIdentifier
    return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> pid_t? in
      guard let pid = pid_t(entry), pid != own, let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { return nil }
      let bytes = [UInt8](environ)
      let entries = bytes.split(separator: 0)
      return entries.contains(where: { Array($0) == marker }) ? pid : nil
    }
  }

  private func jobField(_ job: String, _ field: String) throws -> String? {
    let show = try shell("scontrol -o show job \(job)", timeout: 20).output
    return show.split(whereSeparator: { $0 == " " || $0 == "\n" }).first { $0.hasPrefix(field + "=") }.map { String($0.dropFirst(field.count + 1)) }
  }

  // MARK: - The test

  func testJobArrayWithAPreemptedTaskGivesTheSingleProcessMatrix() throws {
    try installSlurmIfMissing()
    for tool in ["/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch"] {
      guard FileManager.default.isExecutableFile(atPath: tool) else {
        XCTFail("\(tool) is missing after apt-get install slurm-wlm munge")
        return
      }
    }
    try startCluster()
    // LeNet on 800 digits, tiles of 50: 16 blocks, 136 tiles, 34 per shard — enough that shard 1
    // is still computing when the SIGTERM below lands (with 15 tiles, about 4 per shard, the
    // faster engine finished a shard in about a second, before the signal).
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 800, tileSamples: 50)
    let single = try CLIHarness.start(["run", manifest, "--run-dir", "\(work)/single", "--progress", "none"], logDirectory: work,
                                      environment: ["OPENBLAS_NUM_THREADS": "1"])
    single.waitUntilExit()
    XCTAssertEqual(single.terminationStatus, 0, CLIHarness.log(work, "stderr"))
    let expected = try FaultHarness.assembled("\(work)/single", output: "\(work)/single.npy")

    let run = "\(work)/run"
    let slurm = try shell("'\(CLIHarness.binary.path)' slurm '\(manifest)' --array 4 --run-dir '\(run)' --cpus-per-task 1 --mem 500 --partition debug --submit", timeout: 60)
    XCTAssertEqual(slurm.status, 0, slurm.output)
    let ids = slurm.output.split(separator: "\n").first { $0.hasPrefix("submitted shards: job ") }?.split(separator: " ")
    let array = try XCTUnwrap(ids?[3].description, slurm.output)
    let finish = try XCTUnwrap(slurm.output.range(of: #"verify \+ assemble: job [0-9]+"#, options: .regularExpression)
      .map { String(slurm.output[$0].split(separator: " ").last!) }, slurm.output)

    // Preempt task 1 in the middle of a tile: once its segment is open, its tiles are computing.
    let task = "\(array)_1"
    var deadline = Date().addingTimeInterval(180)
    func shardOneStarted() -> Bool {
      ((try? FileManager.default.contentsOfDirectory(atPath: run + "/journal")) ?? []).contains { $0.contains(".shard-1-of-4.") }
    }
    while !shardOneStarted(), Date() < deadline { usleep(20_000) }
    XCTAssertTrue(shardOneStarted(), "shard 1 never started:\n\(log("slurmctld.log").suffix(2000))")
    usleep(300_000)
    // scancel may retry for a while after the signal went out (the task requeues itself meanwhile):
    // let it run in the background and watch the task's log instead.
    let sent = Date()
    try shell("scancel --signal=TERM --batch \(task) > '\(work)/log/scancel.out' 2>&1 &", timeout: 20)
    func taskLog() -> String { (try? String(contentsOfFile: "\(run)/slurm/logs/shard-1.log", encoding: .utf8)) ?? "" }
    while !taskLog().contains("ntkbatch exited with"), Date().timeIntervalSince(sent) < 60 { usleep(20_000) }
    let stopped = Date().timeIntervalSince(sent)
    XCTAssertTrue(taskLog().contains("ntkbatch exited with 75"), taskLog())
    XCTAssertLessThan(stopped, 10, "task 1 took \(stopped) s to stop after scancel --signal=TERM")
    // The task exits 75 and requeues itself; Slurm holds a requeued job back about two minutes: start it now.
    deadline = Date().addingTimeInterval(120)
    var restarts = "0"
    while Date() < deadline {
      restarts = try jobField(task, "Restarts") ?? "0"
      if restarts != "0" { break }
      usleep(200_000)
    }
    XCTAssertEqual(restarts, "1", "task 1 was not requeued")
    _ = try shell("scontrol update JobId=\(task) StartTime=now", timeout: 20)

    // Wait for the dependent verify + assemble job.
    deadline = Date().addingTimeInterval(600)
    var state = ""
    while Date() < deadline {
      state = try jobField(finish, "JobState") ?? ""
      if ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"].contains(state) { break }
      if try jobField(task, "JobState") == "PENDING" { _ = try shell("scontrol update JobId=\(task) StartTime=now", timeout: 20) }
      usleep(500_000)
    }
    let taskLog = (try? String(contentsOfFile: "\(run)/slurm/logs/shard-1.log", encoding: .utf8)) ?? ""
    let finishLog = (try? String(contentsOfFile: "\(run)/slurm/logs/finish.log", encoding: .utf8)) ?? ""
    XCTAssertEqual(state, "COMPLETED", "finish job: \(finishLog)\nshard 1: \(taskLog)")
    XCTAssertTrue(taskLog.contains("SIGTERM received"), taskLog)
    // The signal lands in a tile (abandoned, not journaled) or, on a fast CPU, between two tiles
    // (the runner stops before the next one): both end resumably with exit 75.
    XCTAssertNotNil(taskLog.range(of: #"abandoned the tile in progress|stopped with [0-9]+ of [0-9]+ tiles of shard 1"#,
                                  options: .regularExpression), taskLog)
    XCTAssertTrue(taskLog.contains("ntkbatch exited with 75"), taskLog)
    XCTAssertTrue(taskLog.contains("attempt 2 on"), taskLog)
    XCTAssertTrue(taskLog.contains("ntkbatch exited with 0"), taskLog)
    XCTAssertTrue(finishLog.contains("136 of 136 journaled tiles intact"), finishLog)
    let assembled = try FileBytes.read(path: "\(AtomicFile.directory(of: run))/faults-entk-float32.npy")
    XCTAssertEqual(assembled.count, expected.count)
    XCTAssertTrue(assembled == expected, "the job array's matrix differs from the single-process run's")
    let status = try CLIHarness.succeed(["status", run])
    XCTAssertTrue(status.stdout.contains("shards:   4: 4 complete"), status.stdout)
  }

  /// A plain `scancel` of the array (no `--signal`) cancels it: each running task gets SIGTERM,
  /// `run` exits 75, and the script sees the task `COMPLETING`, not `RUNNING`, and does not requeue
  /// it (tester-s7: the script requeued every task, so the array ran again two minutes later and
  /// could only be cancelled while pending).
  func testScancelOfTheArrayCancelsItWithoutRequeue() throws {
    try installSlurmIfMissing()
    try startCluster()
    let manifest = try FaultHarness.mnistManifest(in: work, subsample: 800, tileSamples: 50)
    let run = "\(work)/run"
    let slurm = try shell("'\(CLIHarness.binary.path)' slurm '\(manifest)' --array 2 --run-dir '\(run)' --cpus-per-task 1 --mem 500 --partition debug --submit", timeout: 60)
    XCTAssertEqual(slurm.status, 0, slurm.output)
    let ids = slurm.output.split(separator: "\n").first { $0.hasPrefix("submitted shards: job ") }?.split(separator: " ")
    let array = try XCTUnwrap(ids?[3].description, slurm.output)
    func journaling() -> Bool {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: run + "/journal")) ?? []
      return names.contains { $0.contains(".shard-0-of-2.") } && names.contains { $0.contains(".shard-1-of-2.") }
    }
    var deadline = Date().addingTimeInterval(180)
    while !journaling(), Date() < deadline { usleep(20_000) }
    XCTAssertTrue(journaling(), "the shards never started:\n\(log("slurmctld.log").suffix(2000))")
    usleep(300_000)
    try shell("scancel \(array) > '\(work)/log/scancel.out' 2>&1 &", timeout: 20)
    func taskLog(_ k: Int) -> String { (try? String(contentsOfFile: "\(run)/slurm/logs/shard-\(k).log", encoding: .utf8)) ?? "" }
    deadline = Date().addingTimeInterval(60)
    while !(taskLog(0).contains("ntkbatch exited with") && taskLog(1).contains("ntkbatch exited with")), Date() < deadline { usleep(50_000) }
    usleep(3_000_000)  // a requeue would show as Restarts=1 by now
    for k in 0..<2 {
      let text = taskLog(k)
      XCTAssertTrue(text.contains("ntkbatch exited with 75"), text)
      XCTAssertTrue(text.contains("not requeued by this script: the task is COMPLETING, not RUNNING"), text)
      XCTAssertFalse(text.contains("attempt 2 on"), text)
      XCTAssertEqual(try jobField("\(array)_\(k)", "Restarts"), "0", text)
      XCTAssertEqual(try jobField("\(array)_\(k)", "JobState"), "CANCELLED", text)
    }
  }
}
