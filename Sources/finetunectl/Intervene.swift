import ArgumentParser
import FinetunedControl
import Foundation

struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cancel a workflow: stop its job, delete its throughput and custom model, end it as cancelled.",
        discussion:
            "A failed workflow keeps its custom model for retry; cancelling it deletes that model. Exit 1 when the workflow cannot be cancelled (finished, or past the decision)."
    )

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The workflow id.") var id: String
    @Flag(name: .long, help: "Print JSON for machines.") var json = false

    func run() throws {
        let workflow = try perform { () throws(ControlClientError) in
            try connection.client.call(ControlRequest(verb: "cancel", arguments: ["id": id]), as: WorkflowSummary.self)
        }
        if json { return try printJSON(workflow) }
        print("\(workflow.id): \(workflow.stage) — cleanup runs now; 'finetunectl history \(workflow.id)' shows it")
    }
}

struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a failed workflow again from the step that failed.",
        discussion: "With its custom model still there, it is served again without a second training job. Exit 1 when the workflow has not failed.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The workflow id.") var id: String
    @Flag(name: .long, help: "Print JSON for machines.") var json = false

    func run() throws {
        let workflow = try perform { () throws(ControlClientError) in
            try connection.client.call(ControlRequest(verb: "retry", arguments: ["id": id]), as: WorkflowSummary.self)
        }
        if json { return try printJSON(workflow) }
        print("\(workflow.id): resuming in \(workflow.stage)")
    }
}
