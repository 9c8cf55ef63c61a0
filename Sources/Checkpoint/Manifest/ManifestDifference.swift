import Foundation

/// The first field in which two manifests (as JSON, e.g. `RUN/manifest.json` and the manifest
/// given to `run`) differ, top-down with keys sorted, for the identity refusal to name it.
/// Fields outside the manifest hash (`dataset.download`, `dataset.mirror`, the same of `columns`, `ntk.memoryBudget`)
/// are ignored.
public enum ManifestDifference {
  static let ignored: Set<String> = ["dataset.download", "dataset.mirror", "columns.download", "columns.mirror", "ntk.memoryBudget"]

  /// Fields that say where things are or what the run is called, not what is computed: the
  /// input-data and weights hashes of the identity cover the files' contents. A run resumes
  /// with a manifest that differs from `RUN/manifest.json` in these alone (data or manifest moved).
  static let locations: Set<String> = ["name", "dataset.root", "dataset.path", "columns.root", "columns.path", "model.weights"]

  /// Whether `fields` (from `all(recorded:current:)`) are location fields alone: the same
  /// computation, moved or renamed (true also when no field differs). The one owner of the rule
  /// `run`, training and `generate --root` apply.
  public static func isRelocation(_ fields: [(path: String, detail: String)]) -> Bool {
    fields.allSatisfy { locations.contains($0.path) }
  }

  /// The first field of `fields` that is not a location field (the one that makes them another
  /// computation), else the first field.
  public static func firstNotALocation(_ fields: [(path: String, detail: String)]) -> (path: String, detail: String)? {
    fields.first { !locations.contains($0.path) } ?? fields.first
  }

  /// E.g. `dataset.root (run has "../data", now "../data2")`, or `nil` when no field differs or
  /// either side is not a JSON object. `recordedAs` names the recorded side (`file has` for a
  /// manifest file about to be replaced).
  public static func first(recorded: Data, current: Data, recordedAs: String = "run has") -> String? {
    all(recorded: recorded, current: current, recordedAs: recordedAs)?.first.map { "\($0.path) \($0.detail)" }
  }

  /// Every differing field, top-down with keys sorted: its path and `(run has …, now …)`; `nil`
  /// when either side is not a JSON object.
  public static func all(recorded: Data, current: Data, recordedAs: String = "run has") -> [(path: String, detail: String)]? {
    guard let a = try? JSONSerialization.jsonObject(with: recorded), let b = try? JSONSerialization.jsonObject(with: current) else { return nil }
    var found: [(path: String, detail: String)] = []
    collect(a, b, path: "", recordedAs: recordedAs, into: &found)
    return found
  }

  private static func collect(_ a: Any?, _ b: Any?, path: String, recordedAs: String, into found: inout [(path: String, detail: String)]) {
    if ignored.contains(path) { return }
    if let a = a as? [String: Any], let b = b as? [String: Any] {
      for key in Set(a.keys).union(b.keys).sorted() {
        collect(a[key], b[key], path: path.isEmpty ? key : path + "." + key, recordedAs: recordedAs, into: &found)
      }
      return
    }
    let (left, right) = (render(a), render(b))
    if left != right { found.append((path, "(\(recordedAs) \(left), now \(right))")) }
  }

  private static func render(_ value: Any?) -> String {
    guard let value, !(value is NSNull) else { return "absent" }
    if let string = value as? String { return "\"\(string)\"" }
    if let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys, .withoutEscapingSlashes]),
       let text = String(data: data, encoding: .utf8) {
      return String(text.dropFirst().dropLast())
    }
    return "\(value)"
  }
}
