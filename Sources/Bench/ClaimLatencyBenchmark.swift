import FinetunedInbox
import FinetunedTestSupport
import Foundation

/// Drop-to-claimed latency: from our `rename` into the inbox until the daemon's `rename` out
/// of it (seen as IN_MOVED_FROM by our own inotify watch), one drop at a time.
enum ClaimLatencyBenchmark {
    static func run(drops: Int) async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start(arguments: ["--log-to", "stderr", "--log-level", "warning"])
        guard await daemon.waitForReady() != nil else {
            print("drop-to-claimed latency: the daemon did not become ready:\n\(daemon.log)")
            return
        }
        let folder = daemon.inbox + "/rehearsal"
        let watcher = try InotifyWatcher()
        defer { watcher.stop() }
        _ = try watcher.add(directory: folder, mask: UInt32(IN_MOVED_FROM))
        var events = watcher.events.makeAsyncIterator()
        let staging = daemon.directory.file("staging")
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        var samples: [Duration] = []
        for i in 0..<drops {
            let name = "d\(i).jsonl"
            let text = (1...21).map { #"{"prompt":"Summarize ticket \#(i)-\#($0).","completion":"Done \#(i)-\#($0)."}"# + "\n" }.joined()
            try text.write(toFile: staging + "/" + name, atomically: false, encoding: .utf8)
            let start = ContinuousClock.now
            guard rename(staging + "/" + name, folder + "/" + name) == 0 else { throw POSIXError(.EIO) }
            while let event = await events.next() {
                if event.name == name { break }
            }
            samples.append(ContinuousClock.now - start)
        }
        samples.sort()
        func at(_ q: Double) -> String { BenchMain.format(samples[min(samples.count - 1, Int(Double(samples.count) * q))]) }
        print("drop-to-claimed latency, \(drops) drops one after another (claim = two durable SQLite commits + rename):")
        print("  p50 \(at(0.50))  p99 \(at(0.99))  max \(BenchMain.format(samples.last!))")
    }
}
