extension Conv2d {
  /// The patch matrix `col(x)` `[in·k·k, H'·W']` of one sample `x` `[in, H, W]`:
  /// `col[(c·k + u)·k + v, i·W' + j] = x[c, s·i − p + u, s·j − p + v]` (0 outside the image).
  /// For a pointwise kernel (k = 1, s = 1, p = 0) this is `x` itself and `scratch` is not touched.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func columns(
    of x: UnsafePointer<Scalar>, geometry g: Geometry, scratch: UnsafeMutablePointer<Scalar>?
  ) -> UnsafePointer<Scalar> {
    if isPointwise { return x }
    writeColumns(of: x, geometry: g, into: scratch!, rowStride: g.positions)
    return UnsafePointer(scratch!)
  }

  /// As `columns(of:geometry:scratch:)`, written straight into a batched patch matrix: row `k` of
  /// the sample's `col(x)` `[in·k·k, L]` goes to `target + k·rowStride` (the sample's column block
  /// of a `[in·k·k, c·L]` matrix), with no intermediate copy.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func writeColumns(
    of x: UnsafePointer<Scalar>, geometry g: Geometry, into target: UnsafeMutablePointer<Scalar>, rowStride: Int
  ) {
    let k = kernelSize
    let L = g.positions
    if isPointwise {
      for c in 0..<inChannels { (target + c * rowStride).update(from: x + c * L, count: L) }
      return
    }
    if stride == 1 && g.outWidth == g.width {
      writeSameWidthColumns(of: x, geometry: g, into: target, rowStride: rowStride)
      return
    }
    for c in 0..<inChannels {
      let plane = x + c * g.height * g.width
      for u in 0..<k {
        for v in 0..<k {
          let row = target + ((c * k + u) * k + v) * rowStride
          let (j0, j1) = validColumns(v, geometry: g)
          for i in 0..<g.outHeight {
            let ih = i * stride - padding + u
            let out = row + i * g.outWidth
            if ih < 0 || ih >= g.height {
              out.update(repeating: 0, count: g.outWidth)
              continue
            }
            if j0 > 0 { out.update(repeating: 0, count: j0) }
            if j1 < g.outWidth { (out + j1).update(repeating: 0, count: g.outWidth - j1) }
            copyColumns(from: plane + ih * g.width, to: out, v: v, range: j0..<j1)
          }
        }
      }
    }
  }

  /// `writeColumns` for stride 1 and an output as wide as the input (`W' = W`, e.g. "same"
  /// padding): then the valid output rows of a patch row `(c, u, v)` read the input plane at one
  /// constant offset `(u − p)·W + (v − p)`, so they are one contiguous copy (instead of one copy
  /// and up to two fills per output row, calls of 4 to 32 scalars), after which the columns that
  /// fall outside the image (wrapped around from the neighbouring input row) are zeroed. Same
  /// values as the row-by-row path.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func writeSameWidthColumns(
    of x: UnsafePointer<Scalar>, geometry g: Geometry, into target: UnsafeMutablePointer<Scalar>, rowStride: Int
  ) {
    let k = kernelSize
    let w = g.width
    let L = g.positions
    for c in 0..<inChannels {
      let plane = x + c * g.height * w
      for u in 0..<k {
        // Output rows i whose input row i − p + u lies inside the image: iLo ..< iHi.
        let iLo = min(g.outHeight, max(0, padding - u))
        let iHi = max(iLo, min(g.outHeight, g.height + padding - u))
        for v in 0..<k {
          let row = target + ((c * k + u) * k + v) * rowStride
          let (j0, j1) = validColumns(v, geometry: g)
          row.update(repeating: 0, count: iLo * w)
          (row + iHi * w).update(repeating: 0, count: L - iHi * w)
          guard iLo < iHi else { continue }
          guard j0 < j1 else {
            (row + iLo * w).update(repeating: 0, count: (iHi - iLo) * w)
            continue
          }
          // Elements iLo·W + j0 ..< (iHi − 1)·W + j1 from plane[index + (u − p)·W + (v − p)]: all
          // inside the plane (the first reads row iLo − p + u at column j0 − p + v ≥ 0, the last
          // row iHi − 1 − p + u < H at column j1 − 1 − p + v < W).
          let first = iLo * w + j0
          (row + first).update(from: plane + first + (u - padding) * w + (v - padding), count: (iHi - 1) * w + j1 - first)
          // Columns outside the image in the valid rows: j < j0 and j ≥ j1.
          for i in iLo..<iHi {
            let out = row + i * w
            for j in 0..<j0 { out[j] = 0 }
            for j in j1..<w { out[j] = 0 }
          }
        }
      }
    }
  }

  /// col2im: adds the patch-matrix cotangent `dcol` `[in·k·k, H'·W']` back onto the image
  /// cotangent `dx` `[in, H, W]` (the adjoint of `columns(of:)`).
  /// `rowStride`: distance between the rows of `dcol` (default L; larger when `dcol` is a column
  /// block of a batched patch matrix).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func accumulateColumns(
    _ dcol: UnsafePointer<Scalar>, into dx: UnsafeMutablePointer<Scalar>, geometry g: Geometry, rowStride: Int? = nil
  ) {
    let k = kernelSize
    let L = rowStride ?? g.positions
    for c in 0..<inChannels {
      let plane = dx + c * g.height * g.width
      for u in 0..<k {
        for v in 0..<k {
          let row = dcol + ((c * k + u) * k + v) * L
          for i in 0..<g.outHeight {
            let ih = i * stride - padding + u
            if ih < 0 || ih >= g.height { continue }
            let line = plane + ih * g.width
            let src = row + i * g.outWidth
            let (j0, j1) = validColumns(v, geometry: g)
            if stride == 1 {
              // Contiguous: line[j − p + v] += src[j], a branch-free loop the compiler vectorises.
              let shifted = line + (v - padding)
              for j in j0..<j1 { shifted[j] += src[j] }
            } else {
              for j in j0..<j1 { line[j * stride - padding + v] += src[j] }
            }
          }
        }
      }
    }
  }

  /// col2im of a valid convolution (stride 1, padding 0) from patch cotangents laid out on the
  /// input's width: row `(c·k + u)·k + v` of `dcol` `[in·k·k, H'·W]` (row stride `rowStride`) holds
  /// `dcol[…, i·W + j]` for output position `(i, j)`, and zero at the columns `j ≥ W'`. Output
  /// position `(i, j)` of patch row `(c, u, v)` belongs to input element `(i + u, j + v)`, i.e.
  /// plane index `i·W + j + (u·W + v)`: one constant offset, so each patch row is added onto the
  /// plane in one contiguous run. The columns `j ≥ W'` wrap into the next input row but add zeros;
  /// the run stops at the plane's end (only zero columns lie beyond it).
  /// Same sums as `accumulateColumns` on the narrow layout, plus additions of zero.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func accumulateWideColumns(
    _ dcol: UnsafePointer<Scalar>, into dx: UnsafeMutablePointer<Scalar>, geometry g: Geometry, rowStride: Int
  ) {
    let k = kernelSize
    let w = g.width
    let plane = g.height * w
    let wideRow = g.outHeight * w
    for c in 0..<inChannels {
      for u in 0..<k {
        for v in 0..<k {
          let row = dcol + ((c * k + u) * k + v) * rowStride
          let offset = u * w + v
          let target = dx + c * plane + offset
          for q in 0..<min(wideRow, plane - offset) { target[q] += row[q] }
        }
      }
    }
  }

  /// The output columns j whose input column `j·s − p + v` lies inside the image: `j0 ..< j1`.
  @inline(__always)
  func validColumns(_ v: Int, geometry g: Geometry) -> (Int, Int) {
    // j·s ≥ p − v  and  j·s ≤ W − 1 + p − v
    let low = padding - v
    let j0 = low <= 0 ? 0 : (low + stride - 1) / stride
    let high = g.width - 1 + padding - v
    let j1 = high < 0 ? 0 : min(g.outWidth, high / stride + 1)
    return (min(j0, j1), j1)
  }

  /// `out[j] = line[j·s − p + v]` for j in `range` (all inside the image).
  @inline(__always)
  func copyColumns(from line: UnsafePointer<Scalar>, to out: UnsafeMutablePointer<Scalar>, v: Int, range: Range<Int>) {
    guard !range.isEmpty else { return }
    if stride == 1 {
      (out + range.lowerBound).update(from: line + (range.lowerBound - padding + v), count: range.count)
    } else {
      for j in range { out[j] = line[j * stride - padding + v] }
    }
  }
}
