import Foundation
import Storage
import TestSupport
import XCTest

@testable import Engine

/// A model fixture folder `Tests/Fixtures/<model>-w<width>/` (PyTorch float64 references).
struct ModelFixture {
  let state: [String: StateTensor]
  let stateOrder: [String]
  let inputs: [Double]
  let inputShape: [Int]
  let logits: [Double]
  let ntk: [Double]
  let ntkTrace: [Double]
  let parameterCount: Int

  init(_ folder: String) throws {
    let weights = try SafetensorsFile.read(path: try TestPaths.fixture("\(folder)/weights.safetensors"))
    var state: [String: StateTensor] = [:]
    for name in weights.names {
      let tensor = weights.tensors[name]!
      state[name] = StateTensor(shape: tensor.shape, values: tensor.doubles())
    }
    self.state = state
    let inputs = try NpyArray.read(path: try TestPaths.fixture("\(folder)/inputs.npy"))
    self.inputs = inputs.doubles()
    inputShape = inputs.shape
    logits = try NpyArray.read(path: try TestPaths.fixture("\(folder)/logits.npy")).doubles()
    ntk = try NpyArray.read(path: try TestPaths.fixture("\(folder)/ntk.npy")).doubles()
    ntkTrace = try NpyArray.read(path: try TestPaths.fixture("\(folder)/ntk_trace.npy")).doubles()
    let metaData = try Data(contentsOf: URL(fileURLWithPath: try TestPaths.fixture("\(folder)/meta.json")))
    let meta = try JSONSerialization.jsonObject(with: metaData) as! [String: Any]
    parameterCount = meta["num_params"] as! Int
    stateOrder = (meta["state_dict_order"] as! [[Any]]).map { $0[0] as! String }
  }

  func inputTensor<T: BLASScalar>(_: T.Type, samples: Range<Int>) -> Engine.Tensor<T> {
    let size = inputShape.dropFirst().reduce(1, *)
    let values = inputs[(samples.lowerBound * size)..<(samples.upperBound * size)].map { T($0) }
    return Engine.Tensor(shape: [samples.count] + inputShape.dropFirst(), storage: values)
  }
}

/// Assembles the full eNTK `[n·m, n·m]` from upper-triangle tiles over sample blocks `blocks`,
/// each row block's Jacobian computed once and reused, diagonal tiles by SYRK, the lower
/// triangle mirrored from the off-diagonal tiles.
func assembleNTK<T: BLASScalar>(
  model: Model<T>, inputs: Engine.Tensor<T>, blocks: [Range<Int>], scale: T = 1, structured: Bool = true
) throws -> [T] {
  let m = model.outputsPerSample
  let n = inputs.batchSize
  let size = inputs.sampleSize
  let jacobians = try blocks.map { block -> JacobianBlock<T> in
    let slice = Engine.Tensor(
      shape: [block.count] + inputs.sampleShape,
      storage: Array(inputs.storage[(block.lowerBound * size)..<(block.upperBound * size)]))
    return try model.jacobian(inputs: slice, structured: structured)
  }
  var full = [T](repeating: 0, count: n * m * n * m)
  for (i, rowBlock) in blocks.enumerated() {
    for j in i..<blocks.count {
      let columnBlock = blocks[j]
      let tile = TileKernel.tile(rows: jacobians[i], columns: jacobians[j], isDiagonal: i == j, scale: scale)
      let columns = columnBlock.count * m
      for r in 0..<(rowBlock.count * m) {
        for c in 0..<columns {
          let gr = rowBlock.lowerBound * m + r, gc = columnBlock.lowerBound * m + c
          full[gr * n * m + gc] = tile[r * columns + c]
          full[gc * n * m + gr] = tile[r * columns + c]
        }
      }
    }
  }
  return full
}
