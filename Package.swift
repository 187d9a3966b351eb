// swift-tools-version: 6.0
// Celeriac: a Celery-compatible task queue for Swift, brokered by Redis.
// Layers: CHiredis (C library) -> RESP (Redis client) -> Celeriac (task queue) -> executables
// (and CeleriacExamples, the example tasks celeriac-worker links).
// No package dependencies: only the toolchain's Foundation, Dispatch, Synchronization and Testing.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Celeriac",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RESP", targets: ["RESP"]),
        .library(name: "Celeriac", targets: ["Celeriac"]),
        .library(name: "CeleriacExamples", targets: ["CeleriacExamples"]),
        .executable(name: "celeriac", targets: ["CeleriacCLI"]),
        .executable(name: "celeriac-worker", targets: ["CeleriacWorker"]),
        .executable(name: "celeriac-beat", targets: ["CeleriacBeat"]),
        .executable(name: "celeriac-bench", targets: ["CeleriacBench"]),
        .executable(name: "celeriac-fuzz", targets: ["CeleriacFuzz"]),
    ],
    targets: [
        .systemLibrary(
            name: "CHiredis",
            path: "Sources/CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(name: "RESP", dependencies: ["CHiredis"], swiftSettings: swiftSettings),
        .target(name: "Celeriac", dependencies: ["RESP"], swiftSettings: swiftSettings),
        // The celeriac.examples.* tasks (add, mul, xsum, sleep, fail, progress, noop) that
        // celeriac-worker, the tests, the benchmarks and the Python interop app use.
        .target(name: "CeleriacExamples", dependencies: ["Celeriac"], swiftSettings: swiftSettings),
        .executableTarget(name: "CeleriacCLI", dependencies: ["Celeriac"], swiftSettings: swiftSettings),
        .executableTarget(name: "CeleriacWorker", dependencies: ["Celeriac", "CeleriacExamples"], swiftSettings: swiftSettings),
        .executableTarget(name: "CeleriacBeat", dependencies: ["Celeriac"], swiftSettings: swiftSettings),
        // The README's "your own worker" example, built and run by the tests.
        .executableTarget(
            name: "ExampleWorker", dependencies: ["Celeriac", "CeleriacExamples"], path: "Examples/ExampleWorker",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "CeleriacBench",
            dependencies: ["Celeriac", "CeleriacExamples", "RESP", "RedisTestSupport"],
            path: "Benchmarks/CeleriacBench",
            swiftSettings: swiftSettings
        ),
        // libFuzzer targets for the message decoder and the RESP reader (scripts/fuzz.sh); in the
        // normal build a tool that replays the checked-in corpus (Fuzz/Corpus), which the tests run.
        .executableTarget(
            name: "CeleriacFuzz", dependencies: ["Celeriac", "RESP"], path: "Fuzz/CeleriacFuzz",
            swiftSettings: swiftSettings
        ),

        // Starts and stops private redis-server processes; shared by the tests and the benchmark.
        .target(name: "RedisTestSupport", path: "Tests/RedisTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "RESPTests", dependencies: ["RESP"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RESPIntegrationTests",
            dependencies: ["RESP", "RedisTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CeleriacTests",
            dependencies: [
                "Celeriac", "CeleriacExamples", "RESP", "RedisTestSupport",
                // Executables are dependencies so that `swift test` builds them for the CLI tests.
                "CeleriacCLI", "CeleriacWorker", "CeleriacBeat", "ExampleWorker", "CeleriacFuzz",
            ],
            // Captured Celery 5.7 messages (copied from shared/fixtures), read by path in the tests.
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
