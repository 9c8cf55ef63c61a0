import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Storage

/// Fetches one dataset file over HTTP(S) into a destination path, the way `dataset.download: true`
/// needs it: checked against its published MD5, written atomically, resumed when interrupted.
///
/// Protocol:
/// 1. data go to `destination + ".part"`; an existing `.part` file is resumed with an HTTP range
///    request `Range: bytes=<size>-` (RFC 9110 §14.2). A `206 Partial Content` answer whose
///    `Content-Range` starts at that size is appended; a `200 OK` (server without range support)
///    restarts the file from byte 0;
/// 2. a transfer that fails part-way (connection cut, idle timeout) is retried from where it stopped,
///    at most `maximumAttempts` requests in all;
/// 3. once complete, the MD5 of the `.part` file must equal `md5`; then the file is fsynced, renamed
///    to `destination` and the directory fsynced. On a mismatch the `.part` file is deleted; a
///    resumed download is then retried once from byte 0, a fresh one is reported as an error.
public struct Download {
  /// Transfer progress of one file, reported as data arrive.
  public struct Progress: Sendable, Equatable {
    /// The destination file name (last path component).
    public var fileName: String
    /// Bytes of the file on disk so far (including a resumed prefix).
    public var receivedBytes: Int64
    /// The file size, when the server announced it.
    public var totalBytes: Int64?

    /// `receivedBytes / totalBytes` in 0…1, when the total is known.
    public var fraction: Double? {
      guard let totalBytes, totalBytes > 0 else { return nil }
      return min(1, Double(receivedBytes) / Double(totalBytes))
    }

    /// A one-line progress bar, e.g. `train_32x32.mat [##########----------]  50%  91.2/182.4 MB`.
    public func bar(width: Int = 30) -> String {
      let megabytes = { (bytes: Int64) in String(format: "%.1f", Double(bytes) / 1_000_000) }
      guard let fraction, let totalBytes else { return "\(fileName) \(megabytes(receivedBytes)) MB" }
      let filled = Int(fraction * Double(width))
      let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
      let percent = String(format: "%3d%%", Int(fraction * 100))
      return "\(fileName) [\(bar)] \(percent)  \(megabytes(receivedBytes))/\(megabytes(totalBytes)) MB"
    }
  }

  /// The file's address.
  public var url: URL
  /// Where the verified file ends up.
  public var destination: String
  /// Expected MD5 of the whole file, lower-case hexadecimal.
  public var md5: String
  /// Seconds without any data before a request is abandoned (and retried).
  public var idleTimeout: TimeInterval = 60
  /// Upper bound in seconds for one request, however much data flows.
  public var requestTimeout: TimeInterval = 24 * 3600
  /// Requests allowed in all (first try, resumptions and one fresh restart after a checksum mismatch).
  public var maximumAttempts = 5

  /// The temporary file the data are written to before the checksum passes.
  public var partialPath: String { destination + ".part" }

  public init(url: URL, destination: String, md5: String) {
    self.url = url
    self.destination = destination
    self.md5 = md5.lowercased()
  }

  /// Downloads, verifies and installs the file.
  ///
  /// - Parameter progress: called on a background queue as data arrive.
  /// - Throws: `StorageError` naming `destination`: `.badInput` for an HTTP error status or an MD5
  ///   mismatch (the message gives both sums), `.ioFailure` when the transfer keeps failing after
  ///   `maximumAttempts` requests or the file cannot be written.
  public func run(progress: ((Progress) -> Void)? = nil) throws {
    var attempts = 0
    var restartedAfterMismatch = false
    var lastFailure = "no request made"
    while attempts < maximumAttempts {
      attempts += 1
      let resumedFrom = fileSize(partialPath)
      let outcome = try transfer(resumingAt: resumedFrom, progress: progress)
      switch outcome {
      case .interrupted(let reason):
        lastFailure = reason
        continue
      case .complete:
        let digest = try Self.md5(ofFileAt: partialPath)
        if digest == md5 {
          try install()
          return
        }
        try? SystemFile.remove(path: partialPath)
        let resumed = resumedFrom > 0
        if resumed && !restartedAfterMismatch {
          restartedAfterMismatch = true
          lastFailure = "MD5 mismatch after resuming"
          continue
        }
        throw StorageError(path: destination, "checksum mismatch: MD5 of the file downloaded from \(url.absoluteString) is \(digest), expected \(md5); the download was discarded")
      }
    }
    throw StorageError(.ioFailure, path: destination, "download from \(url.absoluteString) failed after \(Plural.count(attempts, "attempt")): \(lastFailure); rerun to resume")
  }

  /// Size in bytes of the file at `path`, 0 when absent.
  func fileSize(_ path: String) -> Int64 {
    let attributes = try? FileManager.default.attributesOfItem(atPath: path)
    return (attributes?[.size] as? NSNumber)?.int64Value ?? 0
  }

  /// fsync the `.part` file, rename it to `destination`, fsync the directory (best effort), all
  /// through `SystemFile`.
  private func install() throws {
    do {
      let file = try SystemFile.openForUpdate(path: partialPath, create: false)
      defer { try? file.close() }
      try file.sync()
    } catch let error as StorageError {
      throw StorageError(.ioFailure, path: partialPath, "cannot sync the downloaded file: \(error.message)")
    }
    do {
      try SystemFile.rename(from: partialPath, to: destination)
    } catch let error as StorageError {
      throw StorageError(.ioFailure, path: destination, "cannot rename \(partialPath) into place: \(error.message)")
    }
    try? SystemFile.syncDirectory(path: AtomicFile.directory(of: destination))
  }
}
