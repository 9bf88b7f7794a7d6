import FinetunedConfig
import FinetunedControl
import FinetunedTestSupport
import Foundation

/// `make bench`: each benchmark prints its numbers and, where one exists, a peer's measured
/// in the same run on the same input.
@main
struct BenchMain {
    static func main() async throws {
        if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "engine-child" {
            return try await EngineBenchmark.child(workflows: Int(CommandLine.arguments[2]) ?? 1000)
        }
        if CommandLine.arguments.count == 6, CommandLine.arguments[1] == "engine-child-postgresql" {
            let a = CommandLine.arguments
            return try await EngineBenchmark.postgreSQLChild(
                workflows: Int(a[2]) ?? 1000, socketDirectory: a[3], database: a[4], nodes: Int(a[5]) ?? 1)
        }
        if CommandLine.arguments.count == 6, CommandLine.arguments[1] == "bertscore-child" {
            let a = CommandLine.arguments
            return try BERTScoreBenchmark.child(model: a[2], base: a[3], custom: a[4], references: a[5])
        }
        if CommandLine.arguments.count == 2, CommandLine.arguments[1] == "bertscore" {
            let root = BuiltProducts.packageRoot.path
            return try BERTScoreBenchmark.run(model: root + "/models/all-MiniLM-L6-v2", examples: root + "/examples")
        }
        if CommandLine.arguments.count == 2, CommandLine.arguments[1] == "local" {
            let root = BuiltProducts.packageRoot.path
            return try LocalBackendBenchmark.run(modelDirectory: root + "/models/all-MiniLM-L6-v2", examples: root + "/examples")
        }
        if CommandLine.arguments.count == 2, CommandLine.arguments[1] == "engine" {
            return try await EngineBenchmark.run(workflows: 1000)
        }
        if CommandLine.arguments.count == 2, CommandLine.arguments[1] == "digest" {
            return DigestBenchmark.run(megabytes: 256)
        }
        if CommandLine.arguments.count == 2, CommandLine.arguments[1] == "serving" {
            return try await ServingCostBenchmark.run()
        }
        if CommandLine.arguments.count == 2, CommandLine.arguments[1] == "http" {
            return try await HTTPPoolBenchmark.run()
        }
        if CommandLine.arguments.count == 2, CommandLine.arguments[1] == "idle" {
            return try await EngineBenchmark.idle()
        }
        print("finetuned benchmarks (release build, \(ProcessInfo.processInfo.activeProcessorCount) cores)")
        try configurationLoad()
        try await controlRoundTrip()
        try ValidationBenchmark.run(megabytes: 128)
        DigestBenchmark.run(megabytes: 256)
        try await ClaimLatencyBenchmark.run(drops: 1000)
        try await EngineBenchmark.run(workflows: 1000)
        try await ServingCostBenchmark.run()
        try await HTTPPoolBenchmark.run()
        try await EngineBenchmark.idle()
        let root = BuiltProducts.packageRoot.path
        try BERTScoreBenchmark.run(model: root + "/models/all-MiniLM-L6-v2", examples: root + "/examples")
    }

    /// Parsing and checking the shipped configuration, against Python's tomllib parsing
    /// the same text (parse only: it checks nothing).
    static func configurationLoad() throws {
        let path = BuiltProducts.packageRoot.appendingPathComponent("etc/finetuned/finetuned.toml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let iterations = 2000
        let clock = ContinuousClock()
        _ = try ConfigurationLoader.parse(text: text, file: path)
        let elapsed = try clock.measure {
            for _ in 0..<iterations { _ = try ConfigurationLoader.parse(text: text, file: path) }
        }
        let ours = elapsed / iterations
        print("configuration load (\(text.utf8.count) bytes, parse + check), \(iterations) runs:")
        print("  finetuned:       \(format(ours)) per load")
        let script = """
            import sys, time, tomllib
            text = open(sys.argv[1]).read()
            n = int(sys.argv[2])
            tomllib.loads(text)
            t = time.perf_counter()
            for _ in range(n): tomllib.loads(text)
            print((time.perf_counter() - t) / n * 1e9)
            """
        guard let python = Command.which("python3") else {
            print("  python tomllib:  not measured (python3 not found)")
            return
        }
        let result = try Command.run(python, ["-c", script, path, String(iterations)])
        if result.status == 0, let nanos = Double(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) {
            let peer = Duration.nanoseconds(Int64(nanos))
            print("  python tomllib:  \(format(peer)) per load (parse only)")
            print("  finetuned is \(String(format: "%.1f", Double(nanos) / ours.nanoseconds))x as fast as the peer")
        } else {
            print("  python tomllib:  not measured (\(python) failed: \(result.stderr.suffix(300)))")
        }
    }

    /// `finetunectl status` against a running daemon: connect, request, decode, 1000 times.
    static func controlRoundTrip() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start(arguments: ["--log-to", "stderr", "--log-level", "warning"])
        guard await daemon.waitForReady() != nil else {
            print("control round trip: the daemon did not become ready:\n\(daemon.log)")
            return
        }
        let client = ControlClient(socketPath: daemon.socketPath)
        var samples: [Duration] = []
        let clock = ContinuousClock()
        for _ in 0..<1000 {
            let start = clock.now
            _ = try client.call(ControlRequest(verb: "status"), as: DaemonStatus.self)
            samples.append(clock.now - start)
        }
        samples.sort()
        print("control socket round trip (status), 1000 requests:")
        print("  p50 \(format(samples[499]))  p99 \(format(samples[989]))  max \(format(samples[999]))")
    }

    static func format(_ d: Duration) -> String {
        let ns = d.nanoseconds
        if ns >= 1_000_000 { return String(format: "%.2f ms", ns / 1e6) }
        return String(format: "%.1f µs", ns / 1e3)
    }
}

extension Duration {
    var nanoseconds: Double {
        Double(components.seconds) * 1e9 + Double(components.attoseconds) / 1e9
    }
}
