import CZlib
import Storage

extension Zlib {
  /// Deflates `bytes` into one zlib stream (`compress2`, `level` 0…9, clamped; −1 is zlib's
  /// default): test inputs for the inflating readers (gzip members, MAT-file `miCOMPRESSED`
  /// elements).
  public static func deflate(_ bytes: [UInt8], level: Int32 = Z_DEFAULT_COMPRESSION) -> [UInt8] {
    let level = max(Z_DEFAULT_COMPRESSION, min(Z_BEST_COMPRESSION, level))
    var bound = compressBound(uLong(bytes.count))
    var output = [UInt8](repeating: 0, count: Int(bound))
    let status = output.withUnsafeMutableBufferPointer { out in
      bytes.withUnsafeBufferPointer { input in
        compress2(out.baseAddress!, &bound, input.baseAddress, uLong(input.count), level)
      }
    }
    // compress2 only fails for a too-small buffer (impossible with compressBound) or bad level.
    precondition(status == Z_OK, "compress2 failed with status \(status)")
    output.removeSubrange(Int(bound)...)
    return output
  }
}
