// swift-tools-version:5.10
import PackageDescription

let package = Package(
  name: "ntkbatch",
  products: [
    .executable(name: "ntkbatch", targets: ["ntkbatch"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
    .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
  ],
  targets: [
    // MARK: - System libraries (C shims, each in its own target)

    /// OpenBLAS's CBLAS interface (Debian: `libopenblas-dev`).
    .systemLibrary(
      name: "CBLAS",
      path: "Sources/CBLAS",
      pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]
    ),
    /// Zstandard compression (Debian: `libzstd-dev`).
    .systemLibrary(
      name: "CZstd",
      path: "Sources/CZstd",
      pkgConfig: "libzstd",
      providers: [.apt(["libzstd-dev"])]
    ),
    /// zlib, for gzipped dataset files (Debian: `zlib1g-dev`).
    .systemLibrary(
      name: "CZlib",
      path: "Sources/CZlib",
      pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]
    ),

    // MARK: - Engine: tensors, layers, models, Jacobians, eNTK tiles, training

    .target(
      name: "Engine",
      dependencies: ["CBLAS"]
    ),

    // MARK: - Storage: zstd, objects, atomic files, .npy, .safetensors

    .target(
      name: "Storage",
      dependencies: [
        "CZstd", "CZlib",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "SystemPackage", package: "swift-system"),
      ]
    ),

    // MARK: - Datasets: kinds, files, downloads, IDX/CIFAR-10/MAT/tar readers, preprocessing, loading
    // (of a manifest's `dataset`: Datasets reads Checkpoint's `Manifest`; Checkpoint knows no datasets)

    .target(
      name: "Datasets",
      dependencies: [
        "Engine", "Storage", "Checkpoint",
        .product(name: "Crypto", package: "swift-crypto"),
      ]
    ),

    // MARK: - Checkpoint: manifest, tile plan, journal, run directory, resume

    .target(
      name: "Checkpoint",
      dependencies: ["Storage"]
    ),

    // MARK: - Pipeline: what the commands run (datasets and weights loaded, tiles computed, training)

    .target(
      name: "Pipeline",
      dependencies: ["Engine", "Datasets", "Storage", "Checkpoint"]
    ),

    // MARK: - Command line: argument parsing, progress display, signals, exit codes

    .executableTarget(
      name: "ntkbatch",
      dependencies: [
        "Pipeline", "Engine", "Datasets", "Storage", "Checkpoint",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),

    /// `tools/bench`'s measurements (a benchmark, not a test).
    .executableTarget(
      name: "ntkbatch-bench",
      dependencies: ["Engine", "Datasets", "Checkpoint", "Pipeline"]
    ),

    // MARK: - Tests (one target per module)

    /// Helpers every test target shares: temporary directories, seeded draws, gzip fixtures.
    .target(name: "TestSupport", dependencies: ["Engine", "Storage", "CZlib"], path: "Tests/TestSupport"),
    .testTarget(name: "EngineTests", dependencies: ["Engine", "CBLAS", "Datasets", "Storage", "Checkpoint", "TestSupport"]),
    .testTarget(
      name: "DatasetsTests",
      dependencies: ["Datasets", "Engine", "Storage", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
    .testTarget(name: "StorageTests", dependencies: ["Storage", "TestSupport"]),
    .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "Datasets", "Storage", "Engine", "TestSupport"]),
    .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Engine", "Datasets", "Storage", "Checkpoint", "TestSupport"]),
    .testTarget(name: "ntkbatchTests", dependencies: ["ntkbatch", "Engine", "Datasets", "Storage", "Checkpoint", "TestSupport"]),
  ]
)
