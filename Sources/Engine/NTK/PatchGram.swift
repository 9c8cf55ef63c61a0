/// The patch Gram `U_x U_yᵀ` `[L, L]` of a stride-1, one-group k×k convolution (k > 1) formed
/// from the two samples' inputs instead of their im2col patches. With
/// `U_x[(c, i, j), s] = X_x[c, s_h + i − p, s_w + j − p]` (zero outside the image),
///
///     (U_x U_yᵀ)[s, t] = Σ_{i,j} G[(s_h + i − p, s_w + j − p), (t_h + i − p, t_w + j − p)],
///     G = X_xᵀ X_y  [H·W, H·W]  (X_x the input [C_in, H·W])
///
/// summed over the offsets (i, j) where both positions lie inside the image: one GEMM of depth
/// C_in, `2·(H·W)²·C_in` FLOP per sample pair, and `k²·L²` additions — against `2·L²·C_in·k²`
/// FLOP for the GEMM of the patches, so about k² = 9 times fewer for a "same" 3×3 convolution
/// (Novak, Sohl-Dickstein & Schoenholz, ICML 2022, structured derivatives: a convolution's
/// Jacobian contraction rewritten through its input's Gram). The block then holds its inputs
/// `[C_in, B·H·W]`, k² times less than its patches.
public struct PatchGram: Equatable, Sendable {
  /// Input channels C_in, input height H and width W, kernel k, padding p; output H'·W' = L.
  public let channels: Int
  public let height: Int
  public let width: Int
  public let kernel: Int
  public let padding: Int

  public var outHeight: Int { height + 2 * padding - kernel + 1 }
  public var outWidth: Int { width + 2 * padding - kernel + 1 }
  /// Input positions H·W.
  public var inputPositions: Int { height * width }
  /// Output positions L = H'·W'.
  public var positions: Int { outHeight * outWidth }

  /// The patch Gram of a convolution with these parameters on inputs `[channels, height, width]`,
  /// when it applies (stride 1, one group, k > 1) and costs fewer FLOP per sample pair than the
  /// patches' GEMM; else `nil`.
  public static func make(channels: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int, groups: Int) -> PatchGram? {
    guard stride == 1, groups == 1, kernel > 1 else { return nil }
    let gram = PatchGram(channels: channels, height: height, width: width, kernel: kernel, padding: padding)
    guard gram.outHeight > 0, gram.outWidth > 0 else { return nil }
    return gram.pairFLOP < columnsPairFLOP(positions: gram.positions, patch: channels * kernel * kernel) ? gram : nil
  }

  /// FLOP per sample pair of forming `U_x U_yᵀ` this way: the input Gram and the shifted sums.
  public var pairFLOP: Double {
    2 * Double(inputPositions * inputPositions * channels) + Double(kernel * kernel * positions * positions)
  }

  /// FLOP per sample pair of forming `U_x U_yᵀ` `[L, L]` from patches of length `patch` (C_in/g·k²).
  public static func columnsPairFLOP(positions L: Int, patch: Int) -> Double { 2 * Double(L * L * patch) }

  /// `M[s, y·L + t] += Σ_{i,j} G[u(s; i, j), y·H·W + u(t; i, j)]` for the `samples` column samples
  /// y of a chunk: `gram` `[H·W, samples·H·W]` row-major (`X_xᵀ X_chunk`), `M` `[L, samples·L]`.
  /// Additions only, along contiguous runs of output columns.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func addShiftedSums<T: BLASScalar>(gram: UnsafePointer<T>, samples: Int, into M: UnsafeMutablePointer<T>) {
    let (HW, L, W, Wo) = (inputPositions, positions, width, outWidth)
    let ldg = samples * HW, ldm = samples * L
    for i in 0..<kernel {
      let di = i - padding
      let rows = max(0, -di)..<min(outHeight, height - di)  // output rows whose input row s_h + di exists
      guard !rows.isEmpty else { continue }
      for j in 0..<kernel {
        let dj = j - padding
        let columns = max(0, -dj)..<min(outWidth, width - dj)
        guard !columns.isEmpty else { continue }
        let run = columns.count
        for sh in rows {
          for sw in columns {
            let mRow = M + (sh * Wo + sw) * ldm + columns.lowerBound
            let gRow = gram + ((sh + di) * W + sw + dj) * ldg + columns.lowerBound + dj
            for y in 0..<samples {
              for th in rows {
                let m = mRow + y * L + th * Wo
                let g = gRow + y * HW + (th + di) * W
                for k in 0..<run { m[k] += g[k] }
              }
            }
          }
        }
      }
    }
  }

  /// The im2col patches `[C_in·k², B·L]` (`U[(c, i, j), x·L + s]`) of inputs `[C_in, B·H·W]`
  /// (for explicit rows).
  public func columns<T: BLASScalar>(of inputs: [T], samples B: Int) -> [T] {
    let (HW, L, Wo) = (inputPositions, positions, outWidth)
    var result = [T](repeating: 0, count: channels * kernel * kernel * B * L)
    for c in 0..<channels {
      for i in 0..<kernel {
        for j in 0..<kernel {
          let row = ((c * kernel + i) * kernel + j) * B * L
          for x in 0..<B {
            for sh in 0..<outHeight {
              let ih = sh + i - padding
              guard ih >= 0, ih < height else { continue }
              for sw in 0..<outWidth {
                let iw = sw + j - padding
                guard iw >= 0, iw < width else { continue }
                result[row + x * L + sh * Wo + sw] = inputs[c * B * HW + x * HW + ih * width + iw]
              }
            }
          }
        }
      }
    }
    return result
  }
}
