/// What `DatasetLoader` reads: a manifest's `dataset` (or `columns`) object with its paths
/// resolved, independent of the manifest type (the command line builds it from a `Manifest`).
public struct DatasetSource: Equatable, Sendable {
  /// `dataset.name`: one of `DatasetKind`'s names, or `npy`.
  public var name: String
  /// `dataset.root` resolved against the manifest's folder (the folder itself when absent).
  public var root: String
  /// `dataset.path` resolved, for `npy`.
  public var path: String?
  /// `dataset.subsample`: only the first samples (`nil`: all of the split).
  public var subsample: Int?
  /// `dataset.split`: `"train"` or `"test"` (`nil`: the training split).
  public var split: String?
  /// `dataset.download`: fetch missing files (MD5-checked) into `root` first.
  public var download: Bool
  /// `dataset.mirror`: a base address tried instead of the published ones.
  public var mirror: String?

  public init(name: String, root: String, path: String? = nil, subsample: Int? = nil, split: String? = nil,
              download: Bool = false, mirror: String? = nil) {
    self.name = name
    self.root = root
    self.path = path
    self.subsample = subsample
    self.split = split
    self.download = download
    self.mirror = mirror
  }
}
