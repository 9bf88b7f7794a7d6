import ArgumentParser
import FinetunedControl
import FinetunedText
import Foundation

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List workflows that are not finished (--all: the latest ones, finished too).")

    @OptionGroup var connection: ConnectionOptions
    @Flag(name: .long, help: "Include finished workflows (rejected, done, failed, cancelled).") var all = false
    @Option(name: .long, help: "At most this many.") var limit: Int = 50
    @Flag(name: .long, help: "Print JSON for machines.") var json = false

    func validate() throws {
        guard (0...10_000).contains(limit) else { throw ValidationError("--limit must be from 0 to 10000") }
    }

    func run() throws {
        let workflows = try perform { () throws(ControlClientError) in
            try connection.client.call(
                ControlRequest(verb: "list", arguments: ["all": String(all), "limit": String(limit)]), as: [WorkflowSummary].self)
        }
        if json { return try printJSON(workflows) }
        if workflows.isEmpty {
            print(all ? "no workflows yet" : "no workflows in progress (--all shows finished ones)")
            return
        }
        print(pad("ID", 21) + pad("PROFILE", 16) + pad("STAGE", 20) + pad("UPDATED", 22) + "DROP")
        for w in workflows {
            // A drop's name is the submitter's: control characters would drive the terminal.
            print(pad(w.id, 21) + pad(w.profile, 16) + pad(w.stage, 20) + pad(w.updatedAt.formatted(.iso8601), 22) + OneLine.of(w.dropName))
        }
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one workflow: its stage, failure and files.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The workflow id.") var id: String
    @Flag(name: .long, help: "Print JSON for machines.") var json = false

    func run() throws {
        let detail = try perform { () throws(ControlClientError) in
            try connection.client.call(ControlRequest(verb: "show", arguments: ["id": id]), as: WorkflowDetail.self)
        }
        if json { return try printJSON(detail) }
        let w = detail.workflow
        var lines = [
            "\(w.id)  \(w.profile)/\(OneLine.of(w.dropName))",
            "  stage:    \(w.stage)",
            "  created:  \(w.createdAt.formatted(.iso8601))",
            "  updated:  \(w.updatedAt.formatted(.iso8601))",
        ]
        if let failure = w.failure { lines.append("  reason:   \(failure)") }
        if detail.attempt > 1 { lines.append("  attempt:  \(detail.attempt)") }
        if let model = detail.baseModel { lines.append("  model:    \(model) on backend \(detail.backend ?? "?")") }
        if let status = detail.serviceStatus { lines.append("  service:  \(status)") }
        if let job = detail.jobARN { lines.append("  job:      \(job)") }
        if let model = detail.customModelARN { lines.append("  custom:   \(model)") }
        if let throughput = detail.throughputARN { lines.append("  serving:  \(throughput)") }
        if let s = detail.scores {
            lines.append(
                String(
                    format:
                        "  scores:   F1 custom %.4f vs base %.4f over %d prompts (95%% CI of the gain %+.4f…%+.4f, custom wins %.1f%% of resamples)",
                    s.meanCustomF1, s.meanBaseF1, s.prompts, s.confidenceLow, s.confidenceHigh, s.winShare * 100))
            if s.excludedUnanswered + s.excludedLeaked > 0 {
                lines.append("            left out: \(s.excludedUnanswered) unanswered, \(s.excludedLeaked) found in the training data")
            }
            lines.append("  verdict:  \(s.verdict): \(s.reason)")
        }
        if let loss = detail.trainingLoss, let first = loss.first, let last = loss.last {
            var line = "  loss:     \(Sparkline.of(loss))  training, per epoch, " + String(format: "%.4f → %.4f", first, last)
            if let validation = detail.validationLoss, let v0 = validation.first, let v1 = validation.last {
                line += "; validation " + String(format: "%.4f → %.4f", v0, v1)
            }
            lines.append(line)
        }
        if let report = detail.report { lines.append("  report:   \(report)") }
        if let node = detail.drivenBy {
            lines.append(
                "  node:     \(node) (lease \(detail.leaseEpoch ?? 0))"
                    + (detail.pinnedTo.map { $0 == node ? ", pinned to it" : ", pinned to \($0)" } ?? ""))
        } else if let pinned = detail.pinnedTo {
            lines.append("  node:     none driving it; pinned to \(pinned)")
        }
        lines += ["  drop:     \(detail.spoolPath)", "  archive:  \(detail.archive)"]
        if let sha = detail.sha256 { lines.append("  sha256:   \(sha)") }
        for r in detail.resources {
            let state = r.deletedAt.map { "deleted \($0.formatted(.iso8601))" } ?? (r.retained ? "kept" : "live")
            lines.append("  resource: \(pad(r.kind, 14))\(pad(state, 28))\(r.identifier)")
        }
        // The last lines the daemon logged for it, as `systemctl status` ends with a unit's.
        if let journal = try? WorkflowJournal(workflowID: w.id) {
            let recent = journal.last(5)
            if !recent.isEmpty { lines += ["", "journal (finetunectl logs \(w.id) for more):"] + recent.map { "  " + $0.line } }
        }
        print(lines.joined(separator: "\n"))
    }
}

struct History: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a workflow's event history with timestamps and durations.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The workflow id.") var id: String
    @Flag(name: .long, help: "Print JSON for machines.") var json = false

    func run() throws {
        let entries = try perform { () throws(ControlClientError) in
            try connection.client.call(ControlRequest(verb: "history", arguments: ["id": id]), as: [HistoryEntry].self)
        }
        if json { return try printJSON(entries) }
        for e in entries {
            let delta = e.sincePrevious.map { String(format: "+%.3fs", $0) } ?? ""
            print(pad(e.at.formatted(.iso8601), 22) + pad(delta, 12) + pad(e.stage, 20) + e.message)
        }
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text.padding(toLength: width, withPad: " ", startingAt: 0)
}
