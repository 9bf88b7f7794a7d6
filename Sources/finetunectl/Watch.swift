import ArgumentParser
import FinetunedControl
import Foundation

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow one workflow until it ends: stage, elapsed time, epoch and loss, answers so far.",
        discussion: """
            On a terminal the view is one screen, redrawn in place; otherwise (a pipe, a log) a \
            timestamped line is printed each time something changes. Exits 0 when the workflow \
            is done, 1 when it failed or was cancelled, and at once when it has already ended.
            """)

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The workflow id.") var id: String
    @Option(name: .long, help: "Seconds between looks.") var interval: Double = 0.5

    func run() throws {
        let interactive = isatty(STDOUT_FILENO) == 1
        var last = ""
        while true {
            let detail = try perform { () throws(ControlClientError) in
                try connection.client.call(ControlRequest(verb: "show", arguments: ["id": id]), as: WorkflowDetail.self)
            }
            let view = WorkflowProgressView(detail: detail)
            if interactive {
                // Home, clear, draw: one screen that is redrawn, not a scrolling log.
                print("\u{1B}[H\u{1B}[2J" + view.screen(now: Date()).joined(separator: "\n"))
            } else if view.line != last {
                last = view.line
                print(Date().formatted(.iso8601.time(includingFractionalSeconds: false)) + " " + view.line)
            }
            fflush(nil)
            if view.finished {
                if detail.workflow.stage == "failed" || detail.workflow.stage == "cancelled" { throw ExitCode(1) }
                return
            }
            Thread.sleep(forTimeInterval: max(0.1, interval))
        }
    }
}
