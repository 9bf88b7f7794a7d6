import ArgumentParser
import FinetunedConfig
import FinetunedControl
import FinetunedPostgreSQLStore
import FinetunedText
import FinetunedWorkflow
import Foundation
import Logging

/// `finetunectl store migrate`: the way from one daemon's SQLite store to a PostgreSQL store
/// several daemons can share.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Move the workflow store.", subcommands: [Migrate.self])

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy this daemon's SQLite store into an empty PostgreSQL database and verify the copy.",
            discussion: """
                Stop finetuned first; then add [store] url (and node_id, if not the machine id) to the \
                configuration and start it again. Workflows waiting for their upload stay pinned to \
                this host, under the node id given here. Exit codes: 0 copied and verified, 1 refused \
                or failed (nothing is left half-copied: the copy is one transaction), 2 usage error.
                """)

        @Option(name: .long, help: ArgumentHelp("The PostgreSQL database, as [store] url names it.", valueName: "postgresql://…"))
        var to: String
        @Option(name: .long, help: "The SQLite store (default: finetuned.sqlite in the configuration's state directory).")
        var from: String?
        @Option(name: .long, help: "The configuration file, to find the state directory.")
        var config: String = ProcessInfo.processInfo.environment["FINETUNED_CONFIG"] ?? ConfigurationLoader.defaultPath
        @Option(name: .customLong("password-file"), help: "The database password (default: none, or the credential store-password).")
        var passwordFile: String?
        @Option(name: .customLong("node-id"), help: "The node id the daemon will have on PostgreSQL (default: this machine's id).")
        var nodeID: String?
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let settings: StoreSettings
            switch StoreSettings.parse(url: to) {
            case .failure(let error): throw Validate.Failure(error.message)
            case .success(var parsed):
                parsed.passwordFile = passwordFile
                settings = parsed
            }
            if let nodeID, !StoreSettings.isValidNodeID(nodeID) {
                throw Validate.Failure("--node-id must be 1 to 64 ASCII letters, digits, '.', '_' or '-'")
            }
            let source: String
            if let from {
                source = from
            } else {
                do { source = try ConfigurationLoader.load(path: config).paths.state + "/finetuned.sqlite" } catch {
                    throw Validate.Failure("cannot read \(config) to find the state directory (\(error.description)); give --from")
                }
            }
            guard FileManager.default.fileExists(atPath: source) else { throw Validate.Failure("no SQLite store at \(source)") }
            // A running daemon would go on writing to the file after the copy was taken.
            if (try? connection.client.call(ControlRequest(verb: "status"), as: DaemonStatus.self)) != nil {
                fail("finetuned is running (it answers on \(connection.socket)): stop it first, then copy")
            }
            do {
                let sqlite = try SQLiteWorkflowStore(path: source)
                let store = PostgreSQLWorkflowStore(
                    configuration: PostgreSQLWorkflowStore.configuration(
                        for: settings, password: try PostgreSQLWorkflowStore.password(for: settings)),
                    node: nodeID.map { NodeID($0) } ?? .machine(), logger: Logger(label: "finetunectl"))
                let pool = Task { await store.run() }
                defer { pool.cancel() }
                let report = try await StoreCopy.copy(from: sqlite, to: store, node: store.node)
                print("copied \(source) into \(settings.url) and read every row back:")
                for (table, count) in report.rows { print("  \(table.padding(toLength: 18, withPad: " ", startingAt: 0))\(count) rows, identical") }
                print("workflows waiting for their upload are pinned to node \(store.node)")
            } catch let error as StoreError {
                fail("\(error)")
            } catch let error as Failure {
                fail(error.message)
            }
        }

        func fail(_ message: String) -> Never {
            FileHandle.standardError.write(Data("finetunectl: \(message)\n".utf8))
            Foundation.exit(1)
        }
    }
}
