/// The Jacobian of a block of samples: rows `∂f_a(x_s)/∂θ` for samples `s < sampleCount` and
/// outputs `a < outputsPerSample`, row index `s·m + a` (sample-major, the eNTK layout), split by
/// parameterised layer into `parts` (in parameter order, their columns concatenated = θ).
///
/// A value the caller keeps: the Jacobian of a row block is computed once and reused for every
/// tile of that row (`TileKernel.tile`). Memory: `Σ_l` of `R·P_l` for explicit parts,
/// `R·out + B·in` for factored `Linear` parts and `R·out·L + B·C_in·k²·L` for factored `Conv2d`
/// parts (`ConvolutionFactors`), scalars.
public struct JacobianBlock<T: BLASScalar> {
  /// Number of samples B.
  public let sampleCount: Int
  /// Outputs per sample m (10).
  public let outputsPerSample: Int
  /// Per-layer rows, parameter order.
  public let parts: [JacobianPart<T>]

  public init(sampleCount: Int, outputsPerSample: Int, parts: [JacobianPart<T>]) {
    self.sampleCount = sampleCount
    self.outputsPerSample = outputsPerSample
    self.parts = parts
  }

  /// Number of rows R = B·m.
  public var rowCount: Int { sampleCount * outputsPerSample }

  /// Number of columns P (trainable parameters).
  public var parameterCount: Int { parts.reduce(0) { $0 + $1.columns } }

  /// The full explicit Jacobian `[B·m, P]` row-major (factored parts materialised). For tests
  /// and small models: `B·m·P` scalars.
  public func explicitRows() -> [T] {
    let width = parameterCount
    var result = [T](repeating: 0, count: rowCount * width)
    var offset = 0
    result.withUnsafeMutableBufferPointer { out in
      for part in parts {
        let rows = part.explicitRows(rowCount: rowCount, repeats: outputsPerSample)
        let columns = part.columns
        rows.withUnsafeBufferPointer { src in
          for r in 0..<rowCount {
            (out.baseAddress! + r * width + offset).update(from: src.baseAddress! + r * columns, count: columns)
          }
        }
        offset += columns
      }
    }
    return result
  }
}
