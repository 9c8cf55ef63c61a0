import Foundation
import Storage

/// Where a dataset split's files are under `dataset.root`, reading them (gunzipped, or out of
/// the CIFAR-10 archive), and downloading the missing ones.
struct DatasetFiles {
  var kind: DatasetKind
  var root: String
  /// `dataset.split`: which split's files are downloaded and named in hints.
  var split: DatasetSplit = .train

  /// The path that holds `file`: the first candidate that exists, else the archive (if present).
  func location(of file: DatasetKind.TrainingFile) -> String {
    for candidate in file.candidates where FileManager.default.fileExists(atPath: "\(root)/\(candidate)") {
      return "\(root)/\(candidate)"
    }
    if let archive = file.archive { return "\(root)/\(archive.path)" }
    return "\(root)/\(file.candidates[0])"
  }

  /// The decompressed bytes of `file`.
  ///
  /// - Throws: `DatasetError(.badInput)` naming what is missing and how to get it; `StorageError`
  ///   for an unreadable file or gzip stream, `DatasetError` for a malformed archive.
  func bytes(of file: DatasetKind.TrainingFile) throws -> [UInt8] {
    for candidate in file.candidates where FileManager.default.fileExists(atPath: "\(root)/\(candidate)") {
      let path = "\(root)/\(candidate)"
      // Gunzip no further than the reader can use: the size an IDX header declares, else 256 MiB
      // (a CIFAR-10 batch is 30.7 MB, SVHN's train_32x32.mat 182 MB).
      let isIDX = [DatasetKind.mnist, .kmnist, .fmnist].contains(kind)
      let limit: Gzip.Limit = isIDX ? { IDXFile.declaredByteCount(prefix: $0) } : { _ in 256 << 20 }
      return try Gzip.decompressIfNeeded(bytes: FileBytes.read(path: path), path: path, limit: limit)
    }
    if let archive = file.archive, FileManager.default.fileExists(atPath: "\(root)/\(archive.path)") {
      // The CIFAR-10 binary archive expands to 184 MB: 256 MiB bounds a gzip bomb.
      return try TarArchive.read(path: "\(root)/\(archive.path)", maxBytes: 256 << 20).contents(of: archive.member)
    }
    let names = file.candidates.joined(separator: " or ") + (file.archive.map { " or \($0.path)" } ?? "")
    throw DatasetError(.badInput, "\(root): dataset.root has no \(names) (\(kind.rawValue) \(file.role)): \(kind.missingFileHint(for: split))")
  }

  /// Fetches every missing resource of the dataset into `root`, checking its published MD5.
  ///
  /// - Parameter mirror: `dataset.mirror`, tried instead of the published addresses.
  func download(mirror: String?, showProgress: Bool) throws {
    for resource in kind.resources(of: split) where !alreadyPresent(resource) {
      let isTerminal = isatty(STDERR_FILENO) == 1
      var lastPercent = -1
      try Download.fetchIfMissing(
        fileName: resource.fileName, md5: resource.md5, mirrors: mirror.map { [$0.hasSuffix("/") ? $0 : $0 + "/"] } ?? resource.mirrors,
        root: root,
        progress: { progress in
          guard showProgress else { return }
          let percent = Int((progress.fraction ?? 0) * 100)
          if isTerminal {
            StandardStream.error("\r" + progress.bar())
          } else if percent / 10 != lastPercent / 10 {
            lastPercent = percent
            StandardStream.error(progress.bar() + "\n")
          }
        })
      if showProgress && isTerminal { StandardStream.error("\n") }
    }
  }

  /// A resource counts as present when it, or an uncompressed copy of it, is under `root`.
  private func alreadyPresent(_ resource: DatasetKind.Resource) -> Bool {
    let name = resource.fileName
    let plain = name.hasSuffix(".gz") && !name.hasSuffix(".tar.gz") ? String(name.dropLast(3)) : name
    return [name, plain].contains { FileManager.default.fileExists(atPath: "\(root)/\($0)") }
      || (kind == .cifar10 && kind.files(of: split).allSatisfy { file in
        file.candidates.contains { FileManager.default.fileExists(atPath: "\(root)/\($0)") } })
  }
}
