import FinetunedConfig
import FinetunedControl
import FinetunedNetwork
import FinetunedTestSupport
import Foundation
import Testing

/// The daemon's metrics: the configuration of the endpoint, then a real daemon scraped by a
/// real Prometheus server (Debian's `prometheus`, which scripts/install-test-deps installs).
@Suite("Metrics")
struct MetricsTests {
    @Test("[metrics] listen: loopback only unless allow_remote says so; a bad address names itself")
    func listenAddress() throws {
        func parse(_ table: String) -> (settings: MetricsSettings?, refusal: String?) {
            do { return (try ConfigurationLoader.parse(text: "[metrics]\n" + table, file: "m.toml").metrics, nil) } catch {
                return (nil, error.diagnostics.map(\.description).joined(separator: "\n"))
            }
        }
        #expect(parse(#"listen = "127.0.0.1:9464""#).settings == MetricsSettings(host: "127.0.0.1", port: 9464))
        #expect(parse(#"listen = "[::1]:9464""#).settings == MetricsSettings(host: "::1", port: 9464))
        #expect(parse("listen = \"0.0.0.0:9464\"\nallow_remote = true").settings == MetricsSettings(host: "0.0.0.0", port: 9464, allowRemote: true))
        for (listen, expected) in [
            ("0.0.0.0:9464", "set allow_remote = true"), ("10.0.0.5:9464", "reachable from other machines"),
            ("127.0.0.1", "is not HOST:PORT"), ("127.0.0.1:0", "not a port"), ("::1:9464", "in brackets"),
            ("127.0.0.1:99999", "not a port"),
        ] {
            guard let message = parse("listen = \"\(listen)\"").refusal else {
                Issue.record("\(listen) was accepted")
                continue
            }
            #expect(message.contains("m.toml:2") && message.contains(expected), "\(listen): \(message)")
        }
        #expect(MetricsSettings.isLoopback("127.8.9.10") && !MetricsSettings.isLoopback("127.0.0.1.example.org"))
    }

    @Test("a real Prometheus scrapes the daemon: drops, backend calls and live workflows read back through its query API; finetunectl metrics agrees")
    func prometheusScrapes() async throws {
        let prometheus = "/usr/bin/prometheus"
        try #require(FileManager.default.isExecutableFile(atPath: prometheus), "Debian's prometheus package (scripts/install-test-deps installs it)")
        let port = try PeerProcess.freePort()
        let daemon = try DaemonHarness(configuration: { dir in
            DaemonHarness.configuration(in: dir) + """

                [metrics]
                listen = "127.0.0.1:\(port)"
                """
        })
        defer { daemon.tearDown() }
        try daemon.start(arguments: ["--log-to", "stderr"])
        #expect(await daemon.waitForReady() != nil, "log:\n\(daemon.log)")
        try daemon.drop("not json\n", as: "broken.jsonl")
        try daemon.drop(TrainingRecords.summaries(21), as: "good.jsonl")
        _ = try await daemon.waitForWorkflows(count: 2, in: [.rejected, .training])

        // Our own endpoint first: the text format, and refusals for what it does not serve.
        let http = HTTPTransport(timeout: .seconds(10))
        let direct = try await http.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/metrics"))
        #expect(direct.status == 200 && direct.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(direct.text.contains(#"finetuned_drops_total{profile="rehearsal",outcome="rejected"} 1"#), "\(direct.text)")
        #expect(try await http.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/")).status == 404)
        #expect(try await http.send(HTTPRequest(method: "POST", url: "http://127.0.0.1:\(port)/metrics", body: [1])).status == 405)

        let ctl = try await daemon.ctl(["metrics"])
        #expect(ctl.status == 0, "\(ctl.stderr)")
        for series in [
            #"finetuned_workflows{stage="training"} 1"#, #"finetuned_workflows{stage="rejected"} 1"#,
            #"finetuned_backend_calls_total{backend="slow",operation="CreateJob",result="ok"} 1"#,
            #"finetuned_billable_resources{kind="job"} 1"#, "finetuned_validation_bytes_total", "finetuned_store_commit_seconds_bucket",
        ] {
            #expect(ctl.stdout.contains(series), "\(series) in:\n\(ctl.stdout)")
        }

        // Prometheus itself, on loopback, scraping every second into a throwaway database.
        let dir = try TemporaryDirectory(prefix: "ftprom")
        defer { dir.remove() }
        let configuration = try dir.write(
            "prometheus.yml",
            """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: finetuned
                static_configs:
                  - targets: ["127.0.0.1:\(port)"]
            """)
        let server = try PeerProcess(
            prometheus,
            [
                "--config.file=\(configuration)", "--storage.tsdb.path=\(dir.file("data"))",
                "--web.listen-address=127.0.0.1:{port}",
            ])
        defer { server.stop() }
        let query = "finetuned_drops_total%7Boutcome%3D%22rejected%22%7D"
        let deadline = ContinuousClock.now + .seconds(60)
        var answer = ""
        while ContinuousClock.now < deadline {
            if let response = try? await http.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/api/v1/query?query=\(query)")),
                response.status == 200
            {
                answer = response.text
                if answer.contains(#""result":[{"#) { break }
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any], "Prometheus answered: \(answer)")
        let result = try #require((object["data"] as? [String: Any])?["result"] as? [[String: Any]], "\(answer)")
        let sample = try #require(result.first, "no series came back: \(answer)")
        #expect((sample["metric"] as? [String: String])?["profile"] == "rehearsal")
        #expect((sample["value"] as? [Any])?.last as? String == "1", "\(answer)")
    }
}
