import Foundation

/// The first field in which two manifests (as JSON, e.g. `RUN/manifest.json` and the manifest
/// given to `run`) differ, top-down with keys sorted, for the identity refusal to name it.
/// Fields outside the manifest hash (`dataset.download`, `dataset.mirror`, the same of `columns`, `ntk.memoryBudget`)
/// are ignored.
public enum ManifestDifference {
  static let ignored: Set<String> = ["dataset.download", "dataset.mirror", "columns.download", "columns.mirror", "ntk.memoryBudget"]

  /// E.g. `dataset.root (run has "../data", now "../data2")`, or `nil` when no field differs or
  /// either side is not a JSON object. `recordedAs` names the recorded side (`file has` for a
  /// manifest file about to be replaced).
  public static func first(recorded: Data, current: Data, recordedAs: String = "run has") -> String? {
    guard let a = try? JSONSerialization.jsonObject(with: recorded), let b = try? JSONSerialization.jsonObject(with: current) else { return nil }
    return difference(a, b, path: "", recordedAs: recordedAs)
  }

  private static func difference(_ a: Any?, _ b: Any?, path: String, recordedAs: String) -> String? {
    if ignored.contains(path) { return nil }
    if let a = a as? [String: Any], let b = b as? [String: Any] {
      for key in Set(a.keys).union(b.keys).sorted() {
        if let found = difference(a[key], b[key], path: path.isEmpty ? key : path + "." + key, recordedAs: recordedAs) { return found }
      }
      return nil
    }
    let (left, right) = (render(a), render(b))
    return left == right ? nil : "\(path) (\(recordedAs) \(left), now \(right))"
  }

  private static func render(_ value: Any?) -> String {
    guard let value, !(value is NSNull) else { return "absent" }
    if let string = value as? String { return "\"\(string)\"" }
    if let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]),
       let text = String(data: data, encoding: .utf8) {
      return String(text.dropFirst().dropLast())
    }
    return "\(value)"
  }
}
