import Storage

/// Which part of the eNTK `assemble` writes: a block of samples (rows × columns) and a subset of
/// the m outputs (classes).
///
/// The output's row `(i − rows.lowerBound)·k + a′` is sample i, class `classes[a′]` (k = number of
/// classes kept), columns likewise; with everything selected this is the full matrix, row
/// `i·m + a`.
public struct AssemblySelection: Equatable, Sendable {
  /// Row samples `A..<B`; `nil` = all.
  public var rowSamples: Range<Int>?
  /// Column samples `C..<D`; `nil` = the same as the rows (a cross run: all its column samples,
  /// which index the `columns` dataset).
  public var columnSamples: Range<Int>?
  /// Classes kept, in output order; `nil` = all m.
  public var classes: [Int]?

  public init(rowSamples: Range<Int>? = nil, columnSamples: Range<Int>? = nil, classes: [Int]? = nil) {
    self.rowSamples = rowSamples
    self.columnSamples = columnSamples
    self.classes = classes
  }

  /// Everything: the full matrix.
  public static let all = AssemblySelection()

  /// The selection checked against a plan.
  public struct Resolved: Equatable, Sendable {
    public var rows: Range<Int>
    public var columns: Range<Int>
    public var classes: [Int]
    /// Outputs per sample in the plan (m).
    public var outputsPerSample: Int
    /// Output rows and columns.
    public var rowCount: Int { rows.count * classes.count }
    public var columnCount: Int { columns.count * classes.count }
    /// Whether every class is kept in order 0…m−1 (output rows of a sample are contiguous tile rows).
    public var allClasses: Bool { classes == Array(0..<outputsPerSample) }
  }

  /// Checks the selection against `plan`.
  ///
  /// - Throws: `CheckpointError` (`.badInput`) for an empty or out-of-range sample range, or a
  ///   class outside 0…m−1 or given twice.
  public func resolved(for plan: TilePlan) throws -> Resolved {
    let n = plan.sampleCount
    let m = plan.valuesPerSample
    let rows = rowSamples ?? 0..<n
    // A cross run's columns are other samples: by default all of them, not the rows' range.
    let columns = columnSamples ?? (plan.isCross ? 0..<plan.columnSampleCount : rows)
    for (name, range, count) in [("rows", rows, n), ("columns", columns, plan.columnSampleCount)] {
      guard !range.isEmpty, range.lowerBound >= 0, range.upperBound <= count else {
        let has = plan.isCross ? "the cross run has \(n) row and \(plan.columnSampleCount) column samples" : "the run has \(Plural.count(n, "sample"))"
        throw CheckpointError(.badInput, "--samples: \(name) \(range.lowerBound):\(range.upperBound) must be a non-empty range within 0:\(count) (\(has))")
      }
    }
    let classes = self.classes ?? Array(0..<m)
    guard !classes.isEmpty, classes.allSatisfy({ (0..<m).contains($0) }), Set(classes).count == classes.count else {
      throw CheckpointError(.badInput, "--classes: expected distinct classes within 0…\(m - 1), found \(classes.map(String.init).joined(separator: ","))")
    }
    return Resolved(rows: rows, columns: columns, classes: classes, outputsPerSample: m)
  }
}
