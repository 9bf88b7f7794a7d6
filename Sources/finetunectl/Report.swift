import ArgumentParser
import FinetunedControl
import Foundation

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print the path of a workflow's report.html (--open shows it in a browser).",
        discussion: "The report is written when a workflow that trained ends: kept, not kept, inconclusive, failed or cancelled.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The workflow id.") var id: String
    @Flag(name: .long, help: "Open the report with xdg-open (needs a display).") var open = false

    func run() throws {
        let detail = try perform { () throws(ControlClientError) in
            try connection.client.call(ControlRequest(verb: "show", arguments: ["id": id]), as: WorkflowDetail.self)
        }
        guard let report = detail.report else {
            let stage = detail.workflow.stage
            FileHandle.standardError.write(
                Data(
                    "finetunectl: workflow \(detail.workflow.id) has no report (stage \(stage)): one is written when a workflow that trained ends\n"
                        .utf8))
            throw ExitCode(1)
        }
        print(report)
        guard open else { return }
        let environment = ProcessInfo.processInfo.environment
        guard environment["DISPLAY"].map({ !$0.isEmpty }) == true || environment["WAYLAND_DISPLAY"].map({ !$0.isEmpty }) == true else {
            FileHandle.standardError.write(
                Data("finetunectl: no display here (DISPLAY and WAYLAND_DISPLAY are unset): open \(report) in a browser\n".utf8))
            throw ExitCode(1)
        }
        guard let opener = Self.find("xdg-open", in: environment["PATH"] ?? "/usr/bin:/bin") else {
            FileHandle.standardError.write(Data("finetunectl: xdg-open is not installed (Debian: xdg-utils): open \(report) in a browser\n".utf8))
            throw ExitCode(1)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opener)
        process.arguments = [report]
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            FileHandle.standardError.write(Data("finetunectl: xdg-open exited with \(process.terminationStatus)\n".utf8))
            throw ExitCode(1)
        }
    }

    static func find(_ program: String, in path: String) -> String? {
        path.split(separator: ":").map { "\($0)/\(program)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
