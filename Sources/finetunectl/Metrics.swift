import ArgumentParser
import FinetunedControl
import Foundation

/// `finetunectl metrics`: the daemon's metrics in Prometheus's text format, the same text
/// `[metrics] listen` serves over HTTP, for a look without a Prometheus server (or for
/// node_exporter's textfile collector).
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print the daemon's metrics in Prometheus's text format (operators only).")

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let metrics = try perform { () throws(ControlClientError) in
            try connection.client.call(ControlRequest(verb: "metrics"), as: MetricsText.self)
        }
        FileHandle.standardOutput.write(Data(metrics.text.utf8))
    }
}
