import FinetunedNetwork
import FinetunedPostgreSQLStore
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Logging
import Testing

/// Several daemons on one PostgreSQL store, with Bedrock (the emulator) and S3 (moto): what a
/// dead or paused node was driving is taken over once its lease runs out, nothing is paid
/// twice, and a node that lost a lease commits nothing more.
extension MotoPeerTests {
    @Suite(
        "fail-over: daemons sharing a PostgreSQL store", .serialized,
        .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"))
    struct FailoverTests {
        static let lease = 6
        /// How soon a dead node's workflow must be taken over: its lease, then one coordination
        /// pass (a third of a lease) of the node that takes it, and a second for the work itself.
        static var takeOverBound: Double { Double(lease) + Double(lease) / 3 + 1.5 }

        /// The world the daemons share: the database, S3, Bedrock.
        final class Cluster: @unchecked Sendable {
            let database: PostgreSQLCluster
            let moto: MotoServer
            let emulator: BedrockEmulator
            let emulatorURL: String
            let observer: PostgreSQLWorkflowStore
            /// The daemons log to the journal, as under systemd: the take-overs and the fencing
            /// are read back from there, by their fields.
            let journald: JournaldHarness
            private let pool: Task<Void, Never>
            var daemons: [DaemonHarness] = []

            init(jobPolls: Int, throughputPolls: Int) async throws {
                journald = try JournaldHarness()
                database = try PostgreSQLCluster()
                try database.createDatabase("finetuned")
                moto = try await blocking { try MotoServer() }
                let s3Client = try moto.client(.s3)
                _ = try await s3Client.send("PUT", path: "/finetuned-data")
                emulator = BedrockEmulator(credentials: [moto.credentials])
                emulatorURL = try await emulator.start()
                await emulator.set(artifactStore: S3Client(client: s3Client))
                await emulator.set(jobPolls: jobPolls, throughputPolls: throughputPolls)
                await emulator.set(answers: .better)
                let examples = BuiltProducts.packageRoot.appendingPathComponent("examples").path
                let evaluation = try String(contentsOfFile: examples + "/summaries-eval.jsonl", encoding: .utf8)
                await emulator.set(
                    references: evaluation.split(separator: "\n").compactMap { line in
                        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                            let prompt = object["prompt"], let reference = object["reference"]
                        else { return nil }
                        return (prompt, reference)
                    })
                // How the test reads the shared store: a node that never takes a lease.
                observer = PostgreSQLWorkflowStore(
                    configuration: .init(
                        unixSocketPath: database.socketDirectory + "/.s.PGSQL.5432", username: database.user, password: nil,
                        database: "finetuned"),
                    node: "observer", logger: Logger(label: "observer"))
                let store = observer
                pool = Task { await store.run() }
            }

            func configuration(_ dir: TemporaryDirectory, node: String) -> String {
                // Twelve held-out prompts: three daemons score 30 workflows on two cores, beside
                // other suites with timeouts of their own; the scores are not what is tested here.
                DaemonHarness.writeExamples("summaries-eval.jsonl", as: "bedrock-eval.jsonl", in: dir) { $0.prefix(12) }
                let text =
                    DaemonHarness.scoredAndMailed(in: dir).replacingOccurrences(of: "min_prompts = 20", with: "min_prompts = 10") + """

                        [limits]
                        max_concurrent_workflows = 9
                        max_live_throughputs = 40

                        [store]
                        url = "postgresql://\(database.user)@/finetuned?host=\(database.socketDirectory)"
                        node_id = "\(node)"
                        lease_seconds = \(FailoverTests.lease)

                        [backends.aws]
                        kind = "bedrock"
                        region = "us-east-1"
                        role_arn = "arn:aws:iam::123456789012:role/finetuned-bedrock"
                        bucket = "finetuned-data"
                        prefix = "finetuned"
                        s3_endpoint_url = "\(moto.baseURL)"
                        bedrock_endpoint_url = "\(emulatorURL)"
                        bedrock_runtime_endpoint_url = "\(emulatorURL)"
                        invoke_concurrency = 4

                        [profiles.llama]
                        adapter = "llama"
                        base_model = "meta.llama3-1-8b-instruct-v1:0:128k"
                        backend = "aws"
                        evaluation_set = "\(dir.file("bedrock-eval.jsonl"))"

                        [profiles.llama.hyperparameters]
                        epochCount = 2

                        """
                // Three daemons polling nine jobs: a quarter of a second up to one, so they leave the
                // two cores to the suites running beside them.
                return DaemonHarness.usingSharedModel(DaemonHarness.polling(text, every: 0.25, maximum: 1), in: dir)
            }

            func startDaemons(_ count: Int) async throws {
                for index in 1...count {
                    let daemon = try DaemonHarness(configuration: { self.configuration($0, node: "node-\(index)") }, adapters: ["llama"])
                    daemons.append(daemon)
                    try start(daemon)
                }
            }

            func start(_ daemon: DaemonHarness) throws {
                var environment = moto.environment
                environment["AWS_ENDPOINT_URL"] = nil
                try daemon.start(arguments: ["--log-to", "journal"], environment: environment)
            }

            /// Journal entries with these fields, and when each was logged.
            func logged(_ fields: [String: String], count: Int = 1, timeout: Duration = .seconds(30)) async throws -> [(
                at: Date, entry: [String: Any]
            )] {
                try await journald.waitForEntries(matching: fields.map { "\($0.key)=\($0.value)" }, count: count, timeout: timeout).map { entry in
                    let micros = Double(entry["__REALTIME_TIMESTAMP"] as? String ?? "") ?? 0
                    return (Date(timeIntervalSince1970: micros / 1_000_000), entry)
                }
            }

            /// 120 records of the example set from `offset`: every drop different, so none is a duplicate.
            static func drop(_ offset: Int) throws -> String {
                let path = BuiltProducts.packageRoot.appendingPathComponent("examples/summaries-train.jsonl").path
                let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
                return lines[offset..<(offset + 120)].joined(separator: "\n") + "\n"
            }

            /// Workflows in `stages` whose lease `node` holds.
            func held(by node: String, in stages: Set<WorkflowStage>) async throws -> [WorkflowRecord] {
                var found: [WorkflowRecord] = []
                for record in try await observer.workflows(in: stages) where try await observer.driver(workflowID: record.id)?.node?.rawValue == node
                {
                    found.append(record)
                }
                return found
            }

            func waitUntil(timeout: Duration, _ what: String, _ condition: () async throws -> Bool) async throws {
                let deadline = ContinuousClock.now + timeout
                while try await !condition() {
                    guard ContinuousClock.now < deadline else {
                        Issue.record("timed out waiting for \(what)")
                        throw CancellationError()
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }

            /// The "taken over from" event each workflow got, with the node that wrote it.
            func takeOvers(from node: String) async throws -> [String: WorkflowEvent] {
                var found: [String: WorkflowEvent] = [:]
                for record in try await observer.recentWorkflows(limit: 1000) {
                    if let event = try await observer.events(workflowID: record.id).first(where: {
                        $0.kind == .resumed && $0.message.hasPrefix("taken over from node \(node) ")
                    }) {
                        found[record.id] = event
                    }
                }
                return found
            }

            func stop() async {
                for daemon in daemons { daemon.tearDown() }
                pool.cancel()
                await emulator.stop()
                moto.stop()
                database.stop()
                journald.stop()
            }
        }

        @Test(
            "three daemons, 30 drops: one killed mid-training, one while a throughput is in service; every drop ends once, nothing paid twice",
            .timeLimit(.minutes(8)))
        func threeDaemons() async throws {
            try #require(PostgreSQLCluster.isInstalled, "PostgreSQL is missing: make test installs it")
            let cluster = try await Cluster(jobPolls: 10, throughputPolls: 4)
            // Stopped before the test returns, not after: three daemons left running would
            // load the machine under the suites that follow.
            do { try await threeDaemons(cluster) } catch {
                await cluster.stop()
                throw error
            }
            await cluster.stop()
        }

        func threeDaemons(_ cluster: Cluster) async throws {
            try await cluster.startDaemons(3)
            for daemon in cluster.daemons { #expect(await daemon.waitForReady() != nil, "\(daemon.log.suffix(2000))") }
            for index in 0..<30 {
                try cluster.daemons[index % 3].drop(try Cluster.drop(index * 8), as: "q\(index).jsonl", profile: "llama")
            }

            // node-1 dies while a workflow it drives trains; node-2 while one it drives is served.
            try await cluster.waitUntil(timeout: .seconds(120), "node-1 driving a training job") {
                try await !cluster.held(by: "node-1", in: [.training]).isEmpty
            }
            let orphaned1 = try await cluster.held(by: "node-1", in: EngineStages.movable)
            cluster.daemons[0].signal(SIGKILL)
            let killed1 = Date()
            try await cluster.waitUntil(timeout: .seconds(120), "node-2 driving a workflow whose throughput is in service") {
                try await !cluster.held(by: "node-2", in: [.inService, .baseInference, .customInference]).isEmpty
            }
            let orphaned2 = try await cluster.held(by: "node-2", in: EngineStages.movable)
            cluster.daemons[1].signal(SIGKILL)
            let killed2 = Date()

            // Node 3 takes over every workflow they held past their upload, within the bound.
            for (node, orphans, killed) in [("node-1", orphaned1, killed1), ("node-2", orphaned2, killed2)] {
                try await cluster.waitUntil(timeout: .seconds(60), "\(node)'s \(orphans.count) workflows taken over") {
                    let taken = try await cluster.takeOvers(from: node)
                    return orphans.allSatisfy { taken[$0.id] != nil || $0.stage.isTerminal }
                }
                for (id, event) in try await cluster.takeOvers(from: node) where orphans.contains(where: { $0.id == id }) {
                    let delay = event.at.timeIntervalSince(killed)
                    let taker = try #require(event.node, "\(id): the take-over names its node")
                    #expect(taker != NodeID(node), "\(id) taken by \(taker)")
                    #expect(
                        delay < Self.takeOverBound,
                        "\(id) was taken over \(delay) s after \(node) died (lease \(Self.lease) s, bound \(Self.takeOverBound) s)")
                }
                // The journal has it too, by field, within the same bound.
                for orphan in orphans where !orphan.stage.isTerminal {
                    let entry = try #require(
                        try await cluster.logged(["WORKFLOW_ID": orphan.id, "TAKEN_OVER_FROM": node]).first,
                        "\(orphan.id): no take-over in the journal")
                    #expect(
                        entry.at.timeIntervalSince(killed) < Self.takeOverBound + 0.5,
                        "\(orphan.id): journalled \(entry.at.timeIntervalSince(killed)) s after")
                    #expect((entry.entry["MESSAGE"] as? String)?.contains("workflow taken over from node \(node)") == true)
                }
            }

            // systemd would restart them: what only they can drive (drops not yet uploaded) resumes.
            try cluster.start(cluster.daemons[0])
            try cluster.start(cluster.daemons[1])
            try await cluster.waitUntil(timeout: .seconds(300), "all 30 drops to finish") {
                try await cluster.observer.workflows(in: Set(WorkflowStage.allCases.filter(\.isTerminal))).count == 30
            }
            let finished = try await cluster.observer.recentWorkflows(limit: 100)
            #expect(finished.count == 30)
            for record in finished {
                #expect(record.stage == .done, "\(record.dropName): \(record.stage) \(record.failure ?? "")")
            }

            // Exactly one job and one throughput per workflow; each throughput as decided.
            let jobs = await cluster.emulator.jobs, throughputs = await cluster.emulator.throughputs
            let ids = Set(finished.map(\.id))
            #expect(jobs.count == 30 && Set(jobs.compactMap { $0.tags["finetuned:workflow-id"] }) == ids, "\(jobs.map(\.name))")
            #expect(throughputs.count == 30 && Set(throughputs.compactMap { $0.tags["finetuned:workflow-id"] }) == ids)
            for record in finished {
                let served = throughputs.first { $0.tags["finetuned:workflow-id"] == record.id }
                if record.context.keep == true {
                    #expect(served?.status == "InService", "\(record.id) kept its throughput")
                } else {
                    #expect(served == nil || served?.status == "Deleted", "\(record.id) deleted its throughput")
                }
                let resources = try await cluster.observer.resources(workflowID: record.id)
                #expect(resources.filter { $0.kind == .job }.count == 1 && resources.filter { $0.kind == .throughput }.count == 1)
            }

            // Every notification delivered, once: one mail per workflow across the three maildirs.
            for record in finished {
                let entries = try await cluster.observer.notifications(workflowID: record.id)
                #expect(!entries.isEmpty && entries.allSatisfy { $0.deliveredAt != nil }, "\(record.id): \(entries)")
            }
            var mailed: [String: Int] = [:]
            for daemon in cluster.daemons {
                let folder = daemon.directory.file("mail/new")
                for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
                    let message = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
                    for id in ids where message.contains(id) { mailed[id, default: 0] += 1 }
                }
            }
            #expect(mailed.count == 30 && mailed.values.allSatisfy { $0 == 1 }, "\(mailed.filter { $0.value != 1 })")
            let status = try await cluster.daemons[2].ctl(["status"])
            #expect(status.stdout.contains("nodes:         3 sharing the store"), "\(status.stdout)")
        }

        @Test("a node paused past its lease and resumed commits nothing for the workflow it lost, and says so", .timeLimit(.minutes(4)))
        func pausedNodeIsFenced() async throws {
            try #require(PostgreSQLCluster.isInstalled, "PostgreSQL is missing: make test installs it")
            let cluster = try await Cluster(jobPolls: 30, throughputPolls: 2)
            do { try await pausedNodeIsFenced(cluster) } catch {
                await cluster.stop()
                throw error
            }
            await cluster.stop()
        }

        func pausedNodeIsFenced(_ cluster: Cluster) async throws {
            try await cluster.startDaemons(2)
            for daemon in cluster.daemons { #expect(await daemon.waitForReady() != nil, "\(daemon.log.suffix(2000))") }
            try cluster.daemons[0].drop(try Cluster.drop(0), as: "paused.jsonl", profile: "llama")
            try await cluster.waitUntil(timeout: .seconds(60), "node-1 driving the job") {
                try await !cluster.held(by: "node-1", in: [.training]).isEmpty
            }
            let workflow = try #require(try await cluster.held(by: "node-1", in: [.training]).first)
            cluster.daemons[0].signal(SIGSTOP)
            try await cluster.waitUntil(timeout: .seconds(30), "node-2 to take the workflow over") {
                try await cluster.takeOvers(from: "node-1")[workflow.id] != nil
            }
            let taken = try #require(try await cluster.takeOvers(from: "node-1")[workflow.id])
            // node-1 wakes up: it still believes it drives the job, and polls it.
            cluster.daemons[0].signal(SIGCONT)
            let noticed = try #require(try await cluster.logged(["WORKFLOW_ID": workflow.id, "NODE": "node-1", "PRIORITY": "4"]).first)
            let words = noticed.entry["MESSAGE"] as? String ?? ""
            #expect(words.contains("lost its lease") || words.contains("another node took its lease"), "\(words)")
            #expect(noticed.entry["_PID"] as? String == String(cluster.daemons[0].pid), "the paused daemon itself says so")
            try await cluster.waitUntil(timeout: .seconds(180), "the workflow to finish") {
                try await cluster.observer.workflow(id: workflow.id)?.stage.isTerminal == true
            }
            let events = try await cluster.observer.events(workflowID: workflow.id)
            let after = events.drop { $0 != taken }.dropFirst()
            #expect(
                !after.isEmpty && after.allSatisfy { $0.node == "node-2" },
                "after the take-over only node-2 wrote: \(after.map { "\($0.node?.rawValue ?? "?"): \($0.message)" })")
            #expect(try await cluster.observer.workflow(id: workflow.id)?.stage == .done)
            let jobs = await cluster.emulator.jobs, throughputs = await cluster.emulator.throughputs
            #expect(jobs.count == 1 && throughputs.count == 1, "nothing created twice")
            #expect(cluster.daemons[0].isRunning, "the fenced node goes on running")
        }
    }
}

/// The stages a workflow may move between nodes in: past its upload, not finished.
enum EngineStages {
    static let movable = Set(WorkflowStage.allCases.filter { !$0.isTerminal && ![.claiming, .claimed, .validated].contains($0) })
}
