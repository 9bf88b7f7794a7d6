// swift-tools-version:6.1
import PackageDescription

/// The encoder and the local model's training are numeric loops that run ~50x slower
/// unoptimised; they are compiled with optimisation in debug builds too, so `make demo` and
/// the tests (debug builds) train and score in seconds, not minutes.
let numericCode: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

/// `make install` puts the Swift runtime the programs and the adapter plugins need in
/// `<prefix>/lib/finetuned/swift` (scripts/install-swift-runtime), so an installed daemon
/// runs where no Swift toolchain is; daemon and plugins share that one runtime. The
/// toolchain's own path stays first for in-tree runs.
/// This manifest's folder: linker inputs kept in the repository are named by absolute path.
let packageRoot = String(#filePath.dropLast("/Package.swift".count))

let installedRuntime: [LinkerSetting] = [.unsafeFlags(["-Xlinker", "-rpath=$ORIGIN/../lib/finetuned/swift"], .when(platforms: [.linux]))]
/// The adapter plugins stay loaded for the daemon's life. They export only the C entry point
/// (`plugins/abi/exports.map`): AdapterKit's Swift symbols, which every plugin carries, stay
/// local, so the loader neither reads nor keeps their names (the plugins' resident pages went
/// from 280 to 236 KiB each), and are linked like the daemon (lld, DT_RELR).
let pluginRuntime: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "-rpath=$ORIGIN/../swift"], .when(platforms: [.linux])),
    .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"], .when(platforms: [.linux])),
    .unsafeFlags(["-Xlinker", "--version-script=\(packageRoot)/plugins/abi/exports.map"], .when(platforms: [.linux])),
]

/// The daemon stays resident for months, so what its link leaves for the dynamic loader to do
/// at every start is memory held for good. lld packs the relative relocations Swift code is
/// full of into DT_RELR (glibc 2.36+, Debian 12): 8 bytes for up to 63 of them instead of 24
/// bytes each.
let daemonLinkage: [LinkerSetting] =
    [
        .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"], .when(platforms: [.linux]))
    ] + installedRuntime

/// The folder tree follows the data flow: a drop arrives in the inbox, is validated, runs
/// through the workflow on a backend, is evaluated and notified; the systemd integration,
/// configuration and the control socket frame it. Executables are thin wiring.
let package = Package(
    name: "finetuned",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "finetuned", targets: ["finetuned"]),
        .executable(name: "finetunectl", targets: ["finetunectl"]),
        .library(name: "AdapterKit", targets: ["AdapterKit"]),
        // Adapter plugins: each a shared library loaded with dlopen through the C ABI in
        // plugins/abi/include/finetuned_adapter.h.
        .library(name: "finetuned-adapter-cohere", type: .dynamic, targets: ["CohereAdapter"]),
        .library(name: "finetuned-adapter-llama", type: .dynamic, targets: ["LlamaAdapter"]),
        .library(name: "finetuned-adapter-nova", type: .dynamic, targets: ["NovaAdapter"]),
        .library(name: "finetuned-adapter-titan", type: .dynamic, targets: ["TitanAdapter"]),
        .library(name: "finetuned-adapter-local", type: .dynamic, targets: ["LocalAdapter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .target(name: "CFinetunedAdapter", path: "plugins/abi"),
        .target(name: "AdapterKit", dependencies: ["CFinetunedAdapter"], path: "plugins/AdapterKit"),
        .target(name: "CohereAdapter", dependencies: ["AdapterKit"], path: "plugins/cohere", linkerSettings: pluginRuntime),
        .target(name: "LlamaAdapter", dependencies: ["AdapterKit"], path: "plugins/llama", linkerSettings: pluginRuntime),
        .target(name: "NovaAdapter", dependencies: ["AdapterKit"], path: "plugins/nova", linkerSettings: pluginRuntime),
        .target(name: "TitanAdapter", dependencies: ["AdapterKit"], path: "plugins/titan", linkerSettings: pluginRuntime),
        .target(name: "LocalAdapter", dependencies: ["AdapterKit"], path: "plugins/local", linkerSettings: pluginRuntime),
        .systemLibrary(name: "CGlibcExtras", path: "Sources/CGlibcExtras"),
        .systemLibrary(name: "CSystemdJournal", path: "Sources/CSystemdJournal", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(
            name: "FinetunedSystemd",
            dependencies: [
                "CGlibcExtras", "FinetunedFaults", "FinetunedText", "FinetunedTime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Systemd"
        ),
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        .systemLibrary(name: "COpenSSLPeer", path: "Sources/COpenSSLPeer"),
        .target(name: "CProcess", path: "Sources/CProcess"),
        .target(
            name: "FinetunedNetwork",
            dependencies: [
                "CProcess", .product(name: "Crypto", package: "swift-crypto"), "FinetunedText", "FinetunedThreads", "FinetunedTime",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Sources/Network"
        ),
        .target(
            name: "FinetunedConfig",
            dependencies: ["FinetunedText", .product(name: "TOMLKit", package: "TOMLKit")],
            path: "Sources/Config"
        ),
        .target(
            name: "FinetunedAdapters",
            dependencies: ["AdapterKit", "CFinetunedAdapter", "FinetunedConfig", "FinetunedTime"],
            path: "Sources/Adapters"
        ),
        .target(
            name: "FinetunedValidation",
            dependencies: ["AdapterKit", "FinetunedAdapters", "FinetunedConfig"],
            path: "Sources/Validation"
        ),
        .target(name: "FinetunedThreads", path: "Sources/Threads"),
        .target(name: "FinetunedTime", dependencies: ["CProcess"], path: "Sources/Time"),
        .target(name: "FinetunedFaults", dependencies: ["FinetunedTime"], path: "Sources/Faults"),
        .target(name: "FinetunedText", path: "Sources/Text"),
        .target(
            name: "FinetunedWorkflow",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto"), "FinetunedFaults", "FinetunedText",
                "FinetunedThreads", "FinetunedTime",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Sources/Workflow"
        ),
        .target(
            name: "FinetunedPostgreSQLStore",
            dependencies: [
                "FinetunedConfig", "FinetunedFaults", "FinetunedText", "FinetunedTime", "FinetunedWorkflow",
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Sources/PostgreSQLStore"
        ),
        .target(
            name: "FinetunedInbox",
            dependencies: [
                "FinetunedWorkflow", "FinetunedValidation", "FinetunedAdapters", "FinetunedConfig", "FinetunedSystemd", "FinetunedFaults",
                .product(name: "Crypto", package: "swift-crypto"), "FinetunedEvaluation", "FinetunedText", "FinetunedThreads", "FinetunedTime",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Sources/Inbox"
        ),
        .target(
            name: "FinetunedScriptedBackend",
            dependencies: ["FinetunedWorkflow", "FinetunedConfig", "FinetunedText", "FinetunedTime"],
            path: "Sources/Backends/Scripted"
        ),
        .target(
            name: "FinetunedLocalBackend",
            dependencies: [
                "FinetunedWorkflow", "FinetunedEvaluation", "FinetunedText", "FinetunedThreads", "FinetunedTime",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Backends/Local",
            swiftSettings: numericCode
        ),
        .target(
            name: "FinetunedBedrockBackend",
            dependencies: ["FinetunedWorkflow", "FinetunedConfig", "FinetunedNetwork", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Backends/Bedrock"
        ),
        .target(
            name: "FinetunedEvaluation",
            dependencies: ["FinetunedText", "FinetunedThreads"],
            path: "Sources/Evaluation",
            swiftSettings: numericCode
        ),
        .target(
            name: "FinetunedModelWorker",
            dependencies: [
                "CProcess", "FinetunedConfig", "FinetunedEvaluation", "FinetunedLocalBackend", "FinetunedReport", "FinetunedWorkflow",
                "FinetunedText",
                "FinetunedThreads", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/ModelWorker"
        ),
        .target(
            name: "FinetunedReport",
            dependencies: ["FinetunedTime", "FinetunedValidation", "FinetunedWorkflow"],
            path: "Sources/Report"
        ),
        .target(
            name: "FinetunedNotification",
            dependencies: [
                "FinetunedConfig", "FinetunedFaults", "FinetunedNetwork", "FinetunedSystemd", "FinetunedText", "FinetunedTime",
                "FinetunedWorkflow", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Notification"
        ),
        .target(
            name: "FinetunedControl",
            dependencies: [
                "FinetunedTime",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Control"
        ),
        .target(
            name: "FinetunedMetrics",
            dependencies: [
                "FinetunedWorkflow", .product(name: "Metrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Metrics"
        ),
        .target(
            name: "FinetunedDaemon",
            dependencies: [
                "CMalloc", "CProcess", "FinetunedFaults", "FinetunedModelWorker", "FinetunedNotification", "FinetunedPostgreSQLStore",
                "FinetunedReport", "FinetunedThreads",
                "FinetunedTime",
                "FinetunedSystemd", "FinetunedConfig", "FinetunedControl", "FinetunedMetrics", "FinetunedAdapters", "AdapterKit",
                "FinetunedInbox", "FinetunedWorkflow", "FinetunedEvaluation", "FinetunedScriptedBackend", "FinetunedLocalBackend",
                "FinetunedBedrockBackend", .product(name: "Crypto", package: "swift-crypto"), "FinetunedNetwork", "FinetunedText",
                .product(name: "Logging", package: "swift-log"), .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Daemon"
        ),
        .executableTarget(
            name: "finetuned",
            dependencies: [
                "FinetunedDaemon", "FinetunedModelWorker", "FinetunedSystemd", "FinetunedConfig", "FinetunedControl", "CMalloc",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            linkerSettings: daemonLinkage
        ),
        .executableTarget(
            name: "finetunectl",
            dependencies: [
                "FinetunedControl", "AdapterKit", "FinetunedAdapters", "FinetunedConfig", "FinetunedValidation", "FinetunedInbox",
                "FinetunedEvaluation", "FinetunedText", "CSystemdJournal", "FinetunedWorkflow", "FinetunedPostgreSQLStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: installedRuntime
        ),
        .executableTarget(
            name: "finetuned-bench",
            dependencies: [
                "FinetunedConfig", "FinetunedControl", "FinetunedTestSupport", "FinetunedInbox", "FinetunedWorkflow", "FinetunedScriptedBackend",
                "FinetunedEvaluation", "FinetunedLocalBackend", "FinetunedBedrockBackend", "FinetunedNetwork", "FinetunedTime",
                "FinetunedPostgreSQLStore", .product(name: "Crypto", package: "swift-crypto"), "COpenSSLPeer",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Bench"
        ),
        .executableTarget(
            name: "finetuned-bedrock-emulator",
            dependencies: ["FinetunedTestSupport", "FinetunedNetwork"],
            path: "Sources/finetuned-bedrock-emulator"
        ),
        .target(
            name: "FinetunedTestSupport",
            dependencies: [
                "FinetunedControl", "AdapterKit", "FinetunedWorkflow", "FinetunedScriptedBackend", "FinetunedConfig", "FinetunedEvaluation",
                "FinetunedNetwork", "FinetunedReport",
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Sources/TestSupport"
        ),
        // Unit tests, one target per part of the data flow: no daemon, no peer process, no
        // built program run; `make unit` runs them alone (`swift test --filter UnitTests`).
        .testTarget(
            name: "CoreUnitTests",
            dependencies: [
                "FinetunedControl", "FinetunedDaemon", "FinetunedTestSupport", "FinetunedThreads", "FinetunedTime",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "NetworkUnitTests",
            dependencies: [
                "COpenSSLPeer", .product(name: "Crypto", package: "swift-crypto"), "FinetunedNetwork", "FinetunedTestSupport", "FinetunedText",
                "FinetunedTime", "FinetunedWorkflow",
            ]
        ),
        .testTarget(
            name: "ValidationUnitTests",
            dependencies: ["AdapterKit", "FinetunedAdapters", "FinetunedConfig", "FinetunedTestSupport", "FinetunedText", "FinetunedValidation"]
        ),
        .testTarget(
            name: "EvaluationUnitTests",
            dependencies: [
                "FinetunedEvaluation", "FinetunedLocalBackend", "FinetunedTestSupport", "FinetunedText", "FinetunedWorkflow",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ReportUnitTests",
            dependencies: ["FinetunedReport", "FinetunedTestSupport", "FinetunedWorkflow", "FinetunedText"]
        ),
        .testTarget(
            name: "WorkflowUnitTests",
            dependencies: [
                "FinetunedConfig", "FinetunedControl", "FinetunedEvaluation", "FinetunedScriptedBackend", "FinetunedTestSupport",
                "FinetunedWorkflow", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The whole system: real daemons and finetunectl, moto, aiosmtpd, journald, Prometheus,
        // the model worker, systemd's tools.
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "AdapterKit", .product(name: "Crypto", package: "swift-crypto"), "FinetunedAdapters", "FinetunedBedrockBackend",
                "FinetunedConfig", "FinetunedControl", "FinetunedDaemon", "FinetunedEvaluation", "FinetunedFaults", "FinetunedInbox",
                "FinetunedLocalBackend",
                "FinetunedModelWorker", "FinetunedNetwork", "FinetunedNotification", "FinetunedPostgreSQLStore", "FinetunedReport",
                "FinetunedScriptedBackend",
                "FinetunedSystemd",
                "FinetunedTestSupport", "FinetunedText", "FinetunedValidation", "FinetunedWorkflow",
                .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
    ]
)
