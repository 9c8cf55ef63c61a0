/// How `TileSource` holds the Jacobian of a block of samples while it contracts a tile.
public enum TileStrategy: String, Equatable, Sendable {
  /// Whole Jacobian blocks (`JacobianBlock`, `B·m·P` scalars for explicit layers), computed once
  /// per block and contracted layer by layer. Fastest; needs two blocks in memory.
  case wholeBlocks = "whole-blocks"
  /// Factored blocks (`JacobianFactors`: each layer's input and output cotangent), each layer's
  /// explicit Jacobian rows materialised for the tile, contracted into it, and released before
  /// the next layer: only one layer's rows of each block are ever held. Costs the layers'
  /// materialisation (im2col + GEMM) again for every tile; used when whole blocks do not fit.
  case layerStreaming = "layer-streaming"
}
