import FinetunedPostgreSQLStore
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Testing

extension PostgreSQLPeerTests {
    /// Leases, fencing and the limits several daemons share, on both engines: a node that lost a
    /// workflow's lease can commit nothing for it, whatever it tries; on PostgreSQL, leases expire,
    /// pins hold, and two nodes never both win one lease, slot, claim or admission.
    @Suite("the store's leases and shared limits, on SQLite and PostgreSQL", .serialized)
    struct StoreLeaseTests {
        func validated(_ store: any WorkflowStore) async throws -> WorkflowRecord {
            let id = WorkflowRecord.newID()
            try await store.insert(
                WorkflowRecord(
                    id: id, profile: "summaries", dropName: "\(id).jsonl", sha256: id, spoolPath: "/spool/\(id).jsonl", stage: .claiming,
                    createdAt: Date(), updatedAt: Date()), event: "claimed")
            _ = try await store.transition(id: id, from: .claiming, to: .validated, event: "valid", failure: nil)
            return try #require(try await store.workflow(id: id))
        }

        func acquired(_ attempt: LeaseAttempt, sourceLocation: SourceLocation = #_sourceLocation) throws -> (WorkflowLease, NodeID?) {
            guard case .acquired(let lease, let from) = attempt else {
                Issue.record("not acquired: \(attempt)", sourceLocation: sourceLocation)
                throw CancellationError()
            }
            return (lease, from)
        }

        @Test("a node whose lease was taken commits nothing more: no step, event or answer", arguments: StoreContractTests.Engine.allCases)
        func fencing(engine: StoreContractTests.Engine) async throws {
            try #require(engine == .sqlite || PostgreSQLCluster.isInstalled, "PostgreSQL is missing: make test installs it")
            let database = try await StoreContractTests.Database(engine)
            defer { database.close() }
            let a = try await database.open(node: "node-a"), b = try await database.open(node: "node-b")
            let workflow = try await validated(a)
            let (first, from) = try acquired(try await a.acquireLease(workflowID: workflow.id, duration: .seconds(30)))
            #expect(first.epoch == 1 && first.node == "node-a" && from == nil)
            let plan = EvaluationPlan(prompts: [EvaluationPrompt(line: 3, prompt: "p", reference: "r")], leaked: 1, source: "/eval.jsonl")
            let uploaded = try await a.advance(
                WorkflowStep(
                    id: workflow.id, from: .validated, to: .uploaded, context: workflow.context, message: "uploaded", lease: first,
                    pin: .anywhere, evaluationPlan: plan, admissionLimit: 4))
            #expect(try await b.evaluationPlan(workflowID: workflow.id) == plan, "any node reads the plan recorded with the upload")

            // Another node takes the workflow (an operator's request there, or an expired lease).
            let (second, previous) = try acquired(try await b.acquireLease(workflowID: workflow.id, duration: .seconds(30), takeOver: true))
            #expect(second.epoch == 2 && previous == "node-a")
            let eventsBefore = try await a.events(workflowID: workflow.id).count
            let lost = StoreError.leaseLost(first, holder: "node-b", epoch: 2)
            await #expect(throws: lost) {
                try await a.advance(
                    WorkflowStep(id: workflow.id, from: .uploaded, to: .jobCreated, context: uploaded.context, message: "late", lease: first))
            }
            await #expect(throws: lost) {
                try await a.appendEvent(WorkflowEvent(workflowID: workflow.id, stage: .uploaded, kind: .error, message: "late"), lease: first)
            }
            await #expect(throws: lost) {
                try await a.saveAnswer(
                    InferenceAnswer(workflowID: workflow.id, model: "base", index: 0, output: "x", failure: nil, attempts: 1), lease: first)
            }
            #expect(try await a.renewLeases([first], duration: .seconds(30)) == [first], "renewal says the lease is gone")
            #expect(try await b.renewLeases([second], duration: .seconds(30)).isEmpty)
            #expect(try await a.events(workflowID: workflow.id).count == eventsBefore, "nothing of the late node's was recorded")
            #expect(try await a.workflow(id: workflow.id)?.stage == .uploaded)
            #expect(try await a.answers(workflowID: workflow.id).isEmpty)

            _ = try await b.advance(
                WorkflowStep(id: workflow.id, from: .uploaded, to: .jobCreated, context: uploaded.context, message: "created", lease: second))
            let nodes = try await b.events(workflowID: workflow.id).map { $0.node?.rawValue ?? "-" }
            #expect(nodes == ["node-a", "node-a", "node-a", "node-b"], "each event names the node that wrote it")
            try await b.releaseLease(second)
            #expect(try await b.driver(workflowID: workflow.id)?.node == nil)
            let (third, _) = try acquired(try await a.acquireLease(workflowID: workflow.id, duration: .seconds(30)))
            #expect(third.epoch == 3, "the number only grows")
        }

        @Test("PostgreSQL: a live lease and a pin keep other nodes out; an expired one lets them in")
        func expiryAndPins() async throws {
            try #require(PostgreSQLCluster.isInstalled, "PostgreSQL is missing: make test installs it")
            let database = try await StoreContractTests.Database(.postgresql)
            defer { database.close() }
            let a = try await database.open(node: "node-a"), b = try await database.open(node: "node-b")
            let pinned = try await validated(a), held = try await validated(a), expiring = try await validated(a)
            #expect(try await b.acquireLease(workflowID: pinned.id, duration: .seconds(30)) == .pinned(to: "node-a"))
            #expect(try await b.acquireLease(workflowID: pinned.id, duration: .seconds(30), takeOver: true) == .pinned(to: "node-a"))
            #expect(try await b.acquireLease(workflowID: "wf-nope", duration: .seconds(30)) == .notFound)

            for (workflow, length) in [(held, Duration.seconds(60)), (expiring, .seconds(1))] {
                let (lease, _) = try acquired(try await a.acquireLease(workflowID: workflow.id, duration: length))
                _ = try await a.advance(
                    WorkflowStep(
                        id: workflow.id, from: .validated, to: .uploaded, context: workflow.context, message: "up", lease: lease, pin: .anywhere)
                )
            }
            guard case .held(let holder, let remaining) = try await b.acquireLease(workflowID: held.id, duration: .seconds(30)) else {
                Issue.record("a live lease was not respected")
                return
            }
            #expect(holder == "node-a" && remaining > 30 && remaining <= 60)
            #expect(try await a.drivableWorkflows(in: [.validated, .uploaded]).workflows.map(\.id) == [pinned.id, held.id, expiring.id])
            // The short lease runs out (by the server's clock); then, and only then, b may take it.
            let deadline = ContinuousClock.now + .seconds(20)
            var drivable: [String] = []
            while ContinuousClock.now < deadline {
                drivable = try await b.drivableWorkflows(in: [.validated, .uploaded]).workflows.map(\.id)
                if !drivable.isEmpty { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(drivable == [expiring.id], "neither the pinned one nor the one under a live lease is b's")
            let (taken, from) = try acquired(try await b.acquireLease(workflowID: expiring.id, duration: .seconds(30)))
            #expect(taken.epoch == 2 && from == "node-a")
            let driver = try #require(try await a.driver(workflowID: expiring.id))
            #expect(driver.node == "node-b" && driver.pinnedTo == nil && (driver.expiresIn ?? 0) > 20)
            #expect(try await a.driver(workflowID: pinned.id)?.pinnedTo == "node-a")
        }

        @Test("PostgreSQL: racing nodes never both win a lease, an admission, a serving slot or a notification")
        func races() async throws {
            try #require(PostgreSQLCluster.isInstalled, "PostgreSQL is missing: make test installs it")
            let database = try await StoreContractTests.Database(.postgresql)
            defer { database.close() }
            let a = try await database.open(node: "node-a"), b = try await database.open(node: "node-b")
            var workflows: [WorkflowRecord] = []
            for _ in 0..<12 {
                let w = try await validated(a)
                let (lease, _) = try acquired(try await a.acquireLease(workflowID: w.id, duration: .milliseconds(1)))
                _ = try await a.advance(
                    WorkflowStep(id: w.id, from: .validated, to: .validated, context: w.context, message: "free", lease: lease, pin: .anywhere))
                workflows.append(w)
            }
            try await Task.sleep(for: .milliseconds(50))
            // Twelve expired leases, both nodes grabbing every one at once: one winner each.
            for w in workflows {
                async let left = a.acquireLease(workflowID: w.id, duration: .seconds(30))
                async let right = b.acquireLease(workflowID: w.id, duration: .seconds(30))
                let won = [try await left, try await right].filter { if case .acquired = $0 { true } else { false } }
                #expect(won.count == 1, "\(w.id): \(won)")
            }
            // Admissions under a limit of 5: both nodes start the twelve at once; five are admitted.
            let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for (index, w) in workflows.enumerated() {
                    let store = index % 2 == 0 ? a : b
                    group.addTask {
                        let (lease, _) = try self.acquired(try await store.acquireLease(workflowID: w.id, duration: .seconds(30), takeOver: true))
                        do {
                            _ = try await store.advance(
                                WorkflowStep(
                                    id: w.id, from: .validated, to: .validated, context: w.context, kind: .started, message: "start", lease: lease,
                                    admissionLimit: 5))
                            return true
                        } catch StoreError.admissionFull(let limit) {
                            #expect(limit == 5)
                            return false
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(admitted == 5)
            #expect(try await a.drivableWorkflows(in: [.validated]).started == 5)
            // Two throughput slots for twelve workflows asking from both nodes at once.
            let slots = try await withThrowingTaskGroup(of: String?.self) { group in
                for (index, w) in workflows.enumerated() {
                    let store = index % 2 == 0 ? a : b
                    group.addTask { try await store.reserveServing(.throughput, workflowID: w.id, limit: 2) ? w.id : nil }
                }
                return try await group.reduce(into: [String]()) { if let id = $1 { $0.append(id) } }
            }
            #expect(slots.count == 2)
            #expect(try await a.reserveServing(.throughput, workflowID: slots[0], limit: 2), "a workflow keeps its own slot")
            try await b.releaseServing(.throughput, workflowID: slots[0])
            let other = try #require(workflows.first { !slots.contains($0.id) })
            #expect(try await b.reserveServing(.throughput, workflowID: other.id, limit: 2), "a released slot is free for another")
            #expect(try await b.reserveServing(.deployment, workflowID: other.id, limit: 1), "deployments have slots of their own")
            // One notification, both nodes claiming it: one delivers.
            try await a.enqueue([OutboxEntry(workflowID: other.id, channel: "log", kind: "done", payload: "{}")])
            let id = try #require(try await a.pendingNotifications().first?.id)
            async let left = a.claimNotification(id: id, duration: .seconds(60))
            async let right = b.claimNotification(id: id, duration: .seconds(60))
            let claims = [try await left, try await right].compactMap { $0 }
            #expect(claims.count == 1 && claims.first?.id == id)
        }

        @Test("PostgreSQL: one node at a time runs the janitor; nodes and what they hold are listed")
        func exclusiveJobsAndNodes() async throws {
            try #require(PostgreSQLCluster.isInstalled, "PostgreSQL is missing: make test installs it")
            let database = try await StoreContractTests.Database(.postgresql)
            defer { database.close() }
            let a = try await database.open(node: "node-a"), b = try await database.open(node: "node-b")
            let (entered, enteredContinuation) = AsyncStream.makeStream(of: Void.self)
            let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
            async let ran = a.exclusively(.janitor) {
                enteredContinuation.yield()
                for await _ in release { break }
            }
            for await _ in entered { break }
            #expect(try await b.exclusively(.janitor) {} == false, "b is turned away while a runs it")
            releaseContinuation.yield()
            #expect(try await ran == true)
            #expect(try await b.exclusively(.janitor) {} == true, "and runs it once a is done")

            try await a.heartbeat(version: "1.0", startedAt: Date())
            try await b.heartbeat(version: "1.1", startedAt: Date())
            let held = try await validated(a)
            _ = try acquired(try await a.acquireLease(workflowID: held.id, duration: .seconds(30)))
            let nodes = try await b.nodes()
            #expect(Set(nodes.map(\.id)) == ["node-a", "node-b"])
            #expect(nodes.first { $0.id == "node-a" }?.workflowsHeld == 1 && nodes.first { $0.id == "node-b" }?.version == "1.1")
        }

        @Test("SQLite: one node; its leases never expire and fence only its own earlier life")
        func sqliteSingleNode() async throws {
            let database = try await StoreContractTests.Database(.sqlite)
            defer { database.close() }
            let store = try await database.open(node: "here")
            #expect(store.isShared == false)
            let w = try await validated(store)
            let (old, _) = try acquired(try await store.acquireLease(workflowID: w.id, duration: .milliseconds(1)))
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await store.renewLeases([old], duration: .milliseconds(1)).isEmpty, "still held: nobody else could take it")
            let (restarted, from) = try acquired(try await store.acquireLease(workflowID: w.id, duration: .seconds(30)))
            #expect(restarted.epoch == old.epoch + 1 && from == nil)
            await #expect(throws: StoreError.leaseLost(old, holder: "here", epoch: restarted.epoch)) {
                try await store.appendEvent(WorkflowEvent(workflowID: w.id, stage: .validated, kind: .note, message: "from before"), lease: old)
            }
            #expect(try await store.exclusively(.janitor) {})
            try await store.heartbeat(version: "1.0", startedAt: Date())
            #expect(try await store.nodes().map(\.id) == ["here"])
        }

        @Test("a copy into PostgreSQL drops leases and pins waiting workflows to the node the daemon will be")
        func copyRepins() async throws {
            try #require(PostgreSQLCluster.isInstalled, "PostgreSQL is missing: make test installs it")
            let sqliteDatabase = try await StoreContractTests.Database(.sqlite)
            defer { sqliteDatabase.close() }
            let postgresDatabase = try await StoreContractTests.Database(.postgresql)
            defer { postgresDatabase.close() }
            let sqlite = try #require(try await sqliteDatabase.open(node: "old-host") as? SQLiteWorkflowStore)
            let waiting = try await validated(sqlite), uploaded = try await validated(sqlite)
            _ = try acquired(try await sqlite.acquireLease(workflowID: waiting.id, duration: .seconds(30)))
            let (lease, _) = try acquired(try await sqlite.acquireLease(workflowID: uploaded.id, duration: .seconds(30)))
            _ = try await sqlite.advance(
                WorkflowStep(id: uploaded.id, from: .validated, to: .uploaded, context: uploaded.context, message: "up", lease: lease, pin: .anywhere)
            )
            let target = try #require(try await postgresDatabase.open(node: "new-host") as? PostgreSQLWorkflowStore)
            let report = try await StoreCopy.copy(from: sqlite, to: target, node: "new-host")
            #expect(report.rows.first { $0.table == "workflows" }?.count == 2 && report.rows.first { $0.table == "events" }?.count == 5)
            #expect(try await target.driver(workflowID: waiting.id) == WorkflowDriver(node: nil, epoch: 1, expiresIn: nil, pinnedTo: "new-host"))
            #expect(try await target.driver(workflowID: uploaded.id) == WorkflowDriver(node: nil, epoch: 1, expiresIn: nil, pinnedTo: nil))
            #expect(try await target.events(workflowID: waiting.id).map(\.node) == ["old-host", "old-host"], "history keeps who wrote it")
            // The copy goes on from the highest ids: new rows do not collide with copied ones.
            try await target.appendEvent(WorkflowEvent(workflowID: waiting.id, stage: .validated, kind: .note, message: "after the copy"))
            #expect(try await target.events(workflowID: waiting.id).count == 3)
            await #expect(throws: StoreError.self) { try await StoreCopy.copy(from: sqlite, to: target, node: "new-host") }
        }
    }
}
