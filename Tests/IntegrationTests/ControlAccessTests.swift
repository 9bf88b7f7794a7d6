import FinetunedControl
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Testing

@Suite("Control socket access")
struct ControlAccessTests {
    static let operatorGroup: UInt32 = 500, submitGroup: UInt32 = 600

    /// Peers whose groups are what the test says, not what this machine's user database says.
    static let access = ControlAccess(operatorGroup: operatorGroup, submitGroup: submitGroup, daemonUID: 998) { peer in
        switch peer.uid {
        case 1001: [peer.gid, operatorGroup]
        case 1002: [peer.gid, submitGroup]
        case 1003: [peer.gid, operatorGroup, submitGroup]
        default: [peer.gid]
        }
    }

    @Test("roles come from the peer's uid and groups: root and the daemon's user operate, then the groups decide")
    func roles() {
        func role(_ uid: UInt32, gid: UInt32 = 100) -> ControlRole { Self.access.role(of: ControlPeer(pid: 1, uid: uid, gid: gid)) }
        #expect(role(0) == .operator)
        #expect(role(998) == .operator)
        #expect(role(1001) == .operator)
        #expect(role(1002) == .submitter(uid: 1002))
        #expect(role(1003) == .operator, "the control group wins over the submit group")
        #expect(role(1004) == .stranger(uid: 1004))
        #expect(role(1004, gid: Self.submitGroup) == .submitter(uid: 1004), "the primary group from SO_PEERCRED counts")
        #expect(role(UInt32.max) == .stranger(uid: UInt32.max), "unreadable credentials are nobody")
        let noGroups = ControlAccess(operatorGroup: nil, submitGroup: nil, daemonUID: 998) { [$0.gid] }
        #expect(noGroups.role(of: ControlPeer(pid: 1, uid: 1001, gid: 0)) == .stranger(uid: 1001), "an unknown group name matches nobody, not gid 0")
    }

    @Test("every role × verb has the scope the README's table states")
    func table() {
        for verb in ControlVerb.allCases {
            #expect(ControlAccess.scope(of: .operator, for: verb) == .everything)
            if case .refused = ControlAccess.scope(of: .stranger(uid: 7), for: verb) {
            } else {
                Issue.record("a stranger may \(verb.rawValue)")
            }
            let expected: ControlScope =
                switch verb {
                case .status, .adapters: .everything
                case .list, .show, .history, .cancel, .retry: .ownWorkflows(uid: 7)
                case .reload: .refused("reload is for root and the control group only")
                case .metrics: .refused("metrics are for root and the control group only")
                }
            #expect(ControlAccess.scope(of: .submitter(uid: 7), for: verb) == expected, "\(verb.rawValue)")
        }
    }

    /// Runs the real `finetunectl` as another user: `setpriv` sets the uid and groups the
    /// kernel then reports to the daemon through SO_PEERCRED.
    static func ctl(_ daemon: DaemonHarness, uid: UInt32, gid: UInt32, _ arguments: [String]) throws -> CommandResult {
        let full = [arguments[0], "--socket", daemon.socketPath] + arguments.dropFirst()
        return try BuiltProducts.runRetryingBusy(
            "/usr/bin/setpriv",
            [
                "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--",
                daemon.directory.file("finetunectl"),
            ] + full)
    }

    @Test("through the real socket: a submitter sees and cancels only its own workflows, cannot reload; others are refused")
    func realPeers() async throws {
        let users: UInt32 = 100, nogroup: UInt32 = 65534
        let alice: UInt32 = 4242, mallory: UInt32 = 4343, stranger: UInt32 = 4444
        let daemon = try DaemonHarness(configuration: { dir in
            DaemonHarness.configuration(in: dir) + """

                [inbox]
                submit_group = "users"
                """
        })
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil, "log:\n\(daemon.log)")
        // Other users must reach the socket: open the harness's folders to them.
        chmod(daemon.directory.path, 0o755)
        chmod(daemon.directory.file("run"), 0o755)
        try BuiltProducts.copyExecutable("finetunectl", to: daemon.directory.file("finetunectl"))

        let staging = daemon.directory.file("staging")
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        for (user, name) in [(alice, "alice.jsonl"), (mallory, "mallory.jsonl")] {
            try TrainingRecords.summaries(25, tag: name).write(toFile: staging + "/" + name, atomically: false, encoding: .utf8)
            #expect(chown(staging + "/" + name, user, users) == 0)
            #expect(rename(staging + "/" + name, daemon.inbox + "/rehearsal/" + name) == 0)
        }
        let aliceWorkflow = try #require(try await daemon.waitForWorkflows(dropName: "alice.jsonl").first)
        let malloryWorkflow = try #require(try await daemon.waitForWorkflows(dropName: "mallory.jsonl").first)
        #expect(aliceWorkflow.ownerUID == alice && malloryWorkflow.ownerUID == mallory)

        let list = try Self.ctl(daemon, uid: mallory, gid: users, ["list", "--all", "--json"])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains(malloryWorkflow.id) && !list.stdout.contains(aliceWorkflow.id), "\(list.stdout)")

        for verb in ["show", "history", "cancel", "retry"] {
            let other = try Self.ctl(daemon, uid: mallory, gid: users, [verb, aliceWorkflow.id])
            #expect(other.status == 1 && other.stderr.contains("no workflow \(aliceWorkflow.id)"), "\(verb): \(other.stderr)")
        }
        let store = try SQLiteWorkflowStore(path: daemon.databasePath)
        #expect(try await store.workflow(id: aliceWorkflow.id)?.stage != .cancelled, "alice's workflow is untouched")
        #expect(try await store.events(workflowID: aliceWorkflow.id).allSatisfy { !$0.message.contains("cancel") })
        let own = try Self.ctl(daemon, uid: mallory, gid: users, ["show", malloryWorkflow.id])
        #expect(own.status == 0, "\(own.stderr)")
        let cancel = try Self.ctl(daemon, uid: mallory, gid: users, ["cancel", malloryWorkflow.id])
        #expect(cancel.status == 0, "\(cancel.stderr)")

        let reload = try Self.ctl(daemon, uid: mallory, gid: users, ["reload"])
        #expect(reload.status == 4 && reload.stderr.contains("reload is for root and the control group only"), "\(reload.stderr)")
        let status = try Self.ctl(daemon, uid: mallory, gid: users, ["status"])
        #expect(status.status == 0, "\(status.stderr)")
        let whoami = try Self.ctl(daemon, uid: mallory, gid: users, ["status", "--whoami"])
        #expect(whoami.status == 4 && whoami.stderr.contains("status --whoami is for root and the control group only"), "\(whoami.stderr)")
        let metrics = try Self.ctl(daemon, uid: mallory, gid: users, ["metrics"])
        #expect(metrics.status == 4 && metrics.stderr.contains("metrics are for root and the control group only"), "\(metrics.stderr)")

        let outsider = try Self.ctl(daemon, uid: stranger, gid: nogroup, ["status"])
        #expect(
            outsider.status == 4 && outsider.stderr.contains("uid 4444 is neither in the control group nor in the submit group"),
            "\(outsider.stderr)")
        #expect(daemon.log.contains("control request refused: status from pid"))

        let root = try await daemon.ctl(["list", "--all", "--json"])
        #expect(root.stdout.contains(aliceWorkflow.id) && root.stdout.contains(malloryWorkflow.id))
    }
}
