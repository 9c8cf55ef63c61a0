import Foundation
import Storage

/// How `assemble` reads (or places) a journaled tile's object: a missing or damaged object is a
/// damaged run, not a tile not computed yet — the journal records the tile as done — so even
/// `--allow-partial` (which fills only tiles never computed with NaN) refuses it, naming the tile
/// and pointing to `ntkbatch repair` (which drops the tile so that `run` recomputes it, or
/// `--allow-partial` then leaves it NaN).
enum TileObjectRead {
  /// Runs `body` (a read of `tile`'s object `hash` from `store`), re-expressing a `StorageError`
  /// about that object as the damage of `tile`.
  ///
  /// - Throws: `CheckpointError` (`.damaged` for a missing or damaged object, exit 1).
  static func reading<T>(_ tile: Tile, object hash: ContentHash, in store: ObjectStore, _ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as StorageError {
      let path = store.path(for: hash)
      let exists = FileManager.default.fileExists(atPath: path)
      guard error.kind == .badInput || !exists else { throw CheckpointError(error) }
      let run = AtomicFile.directory(of: store.root)
      let what = exists ? "damaged (\(error.message))" : "missing"
      throw CheckpointError(.damaged, "\(path): the object of tile \(tile.index) (I=\(tile.rowBlock), J=\(tile.columnBlock)) is \(what), though the journal records the tile as computed: the run is damaged (this is not a tile not computed yet, which --allow-partial fills with NaN); run `ntkbatch repair \(run)` (it drops the tile; `run` then computes it again)")
    }
  }
}
