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
    let col = scratch!
    let k = kernelSize
    let L = g.positions
    for c in 0..<inChannels {
      let plane = x + c * g.height * g.width
      for u in 0..<k {
        for v in 0..<k {
          let row = col + ((c * k + u) * k + v) * L
          for i in 0..<g.outHeight {
            let ih = i * stride - padding + u
            let out = row + i * g.outWidth
            if ih < 0 || ih >= g.height {
              out.update(repeating: 0, count: g.outWidth)
              continue
            }
            let line = plane + ih * g.width
            for j in 0..<g.outWidth {
              let iw = j * stride - padding + v
              out[j] = (iw >= 0 && iw < g.width) ? line[iw] : 0
            }
          }
        }
      }
    }
    return UnsafePointer(col)
  }

  /// col2im: adds the patch-matrix cotangent `dcol` `[in·k·k, H'·W']` back onto the image
  /// cotangent `dx` `[in, H, W]` (the adjoint of `columns(of:)`).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  func accumulateColumns(_ dcol: UnsafePointer<Scalar>, into dx: UnsafeMutablePointer<Scalar>, geometry g: Geometry) {
    let k = kernelSize
    let L = g.positions
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
            for j in 0..<g.outWidth {
              let iw = j * stride - padding + v
              if iw >= 0 && iw < g.width { line[iw] += src[j] }
            }
          }
        }
      }
    }
  }
}
