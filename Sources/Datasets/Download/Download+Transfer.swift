import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Storage

extension Download {
  /// How one request ended.
  enum Outcome {
    /// The server sent the whole (remaining) file, or said the range was already complete.
    case complete
    /// The transfer stopped early; the `.part` file holds what arrived and can be resumed.
    case interrupted(String)
  }

  /// One HTTP request appending to the `.part` file from byte `offset`.
  ///
  /// - Throws: `StorageError` for an HTTP error status or a `.part` file that cannot be written.
  func transfer(resumingAt offset: Int64, progress: ((Progress) -> Void)?) throws -> Outcome {
    if !FileManager.default.fileExists(atPath: partialPath) {
      do { try SystemFile.create(path: partialPath, exclusive: false).close() } catch {
        throw StorageError(.ioFailure, path: partialPath, "cannot create the download's temporary file")
      }
    }
    let handle: FileHandle
    do {
      handle = try FileHandle(forWritingTo: URL(fileURLWithPath: partialPath))
    } catch {
      throw StorageError(.ioFailure, path: partialPath, "cannot open for writing: \(error.localizedDescription)")
    }
    defer { try? handle.close() }

    var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: idleTimeout)
    if offset > 0 { request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = idleTimeout
    configuration.timeoutIntervalForResource = requestTimeout
    configuration.urlCache = nil
    let receiver = DownloadReceiver(
      handle: handle, offset: offset, fileName: (destination as NSString).lastPathComponent, progress: progress)
    let queue = OperationQueue()
    queue.maxConcurrentOperationCount = 1
    let session = URLSession(configuration: configuration, delegate: receiver, delegateQueue: queue)
    session.dataTask(with: request).resume()
    let finished = receiver.finished.wait(timeout: .now() + requestTimeout + idleTimeout)
    session.invalidateAndCancel()
    queue.waitUntilAllOperationsAreFinished()
    guard finished == .success else { return .interrupted("no end of transfer within \(Int(requestTimeout)) s") }
    switch receiver.result {
    case .complete: return .complete
    case .interrupted(let reason): return .interrupted(reason)
    case .failed(let message, let kind): throw StorageError(kind, path: destination, message)
    }
  }
}

/// The URLSession delegate of one `Download` request: writes data to the `.part` file as they
/// arrive, follows the status code (206 append, 200 restart, 416 already complete), reports progress.
///
/// `@unchecked Sendable`: its state is touched only on the session's serial delegate queue, and
/// read by `Download.transfer` after `finished` has been signalled and the queue drained.
final class DownloadReceiver: NSObject, URLSessionDataDelegate, @unchecked Sendable {
  enum Result {
    case complete
    case interrupted(String)
    case failed(String, StorageError.Kind)
  }

  let handle: FileHandle
  let offset: Int64
  let fileName: String
  let progress: ((Download.Progress) -> Void)?
  /// Signalled once, when the task has completed.
  let finished = DispatchSemaphore(value: 0)
  private(set) var result: Result = .interrupted("no response")
  private var written: Int64 = 0
  private var total: Int64?
  /// Set when the receiver decided the outcome itself (and cancelled the task).
  private var decided = false

  init(handle: FileHandle, offset: Int64, fileName: String, progress: ((Download.Progress) -> Void)?) {
    self.handle = handle
    self.offset = offset
    self.fileName = fileName
    self.progress = progress
  }

  private func decide(_ outcome: Result) {
    result = outcome
    decided = true
  }

  func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                  completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
    guard let http = response as? HTTPURLResponse else {
      decide(.failed("not an HTTP response from \(response.url?.absoluteString ?? "?")", .badInput))
      return completionHandler(.cancel)
    }
    let announced = response.expectedContentLength > 0 ? response.expectedContentLength : nil
    do {
      switch http.statusCode {
      case 206:
        guard let range = Self.contentRange(http.value(forHTTPHeaderField: "Content-Range")), range.start == offset else {
          // The server resumed somewhere else: start over from byte 0 on the next request.
          try handle.truncate(atOffset: 0)
          decide(.interrupted("server answered the range request from another offset; restarting"))
          return completionHandler(.cancel)
        }
        try handle.seek(toOffset: UInt64(offset))
        written = offset
        total = range.total ?? announced.map { $0 + offset }
      case 200:
        try handle.truncate(atOffset: 0)
        written = 0
        total = announced
      case 416 where offset > 0:
        // Range not satisfiable: the partial file is already whole (the checksum will tell).
        decide(.complete)
        return completionHandler(.cancel)
      default:
        decide(.failed("HTTP status \(http.statusCode) for \(http.url?.absoluteString ?? "?")", .badInput))
        return completionHandler(.cancel)
      }
    } catch {
      decide(.failed("cannot write the download's temporary file: \(error.localizedDescription)", .ioFailure))
      return completionHandler(.cancel)
    }
    report()
    completionHandler(.allow)
  }

  func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
    guard !decided else { return }
    do {
      try handle.write(contentsOf: data)
      written += Int64(data.count)
      report()
    } catch {
      decide(.failed("cannot write the download's temporary file: \(error.localizedDescription)", .ioFailure))
      dataTask.cancel()
    }
  }

  func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
    if !decided {
      if let error {
        result = .interrupted("transfer stopped after \(Plural.count(written, "byte")): \(error.localizedDescription)")
      } else if let total, written < total {
        result = .interrupted("connection closed after \(written) of \(Plural.count(total, "byte"))")
      } else {
        result = .complete
      }
    }
    finished.signal()
  }

  private func report() {
    progress?(Download.Progress(fileName: fileName, receivedBytes: written, totalBytes: total))
  }

  /// Parses `Content-Range: bytes <start>-<end>/<total|*>` (RFC 9110 §14.4).
  static func contentRange(_ value: String?) -> (start: Int64, total: Int64?)? {
    guard let value, value.hasPrefix("bytes ") else { return nil }
    let parts = value.dropFirst(6).split(separator: "/")
    guard parts.count == 2, let dash = parts[0].firstIndex(of: "-"),
          let start = Int64(parts[0][..<dash]) else { return nil }
    return (start, Int64(parts[1]))
  }
}
