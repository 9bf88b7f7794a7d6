import ArgumentParser
import FinetunedControl
import Foundation

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the daemon's version, uptime, configuration and counts.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(name: .long, help: "Print JSON for machines.") var json = false
    @Flag(name: .long, help: "Also name the identity each backend acts as (AWS: the ARN from STS GetCallerIdentity).") var whoami = false

    func run() throws {
        let status = try perform { () throws(ControlClientError) in
            try connection.client.call(ControlRequest(verb: "status", arguments: whoami ? ["whoami": "true"] : [:]), as: DaemonStatus.self)
        }
        if json {
            try printJSON(status)
            return
        }
        print(Self.render(status))
    }

    static func render(_ status: DaemonStatus) -> String {
        var lines = [
            "finetuned \(status.daemonVersion) (pid \(status.pid), protocol \(status.protocolVersion))",
            "  uptime:        \(formatDuration(status.uptimeSeconds))",
            "  status:        \(status.summary)",
            "  configuration: \(status.configurationFile) (loaded \(status.configurationLoadedAt.formatted(.iso8601)); \(status.reloads) reloads, \(status.failedReloads) refused)",
        ]
        if let error = status.lastReloadError {
            lines.append("  last refused reload:")
            lines += error.split(separator: "\n").map { "    \($0)" }
        }
        lines += [
            "  inbox:         \(status.inbox)",
            "  state:         \(status.stateDirectory)",
            "  adapters:      \(status.adapterDirectories.joined(separator: ", "))",
            "  profiles:      \(status.profiles.isEmpty ? "(none)" : status.profiles.joined(separator: ", "))",
            "  workflows:     \(status.counts.running) running, \(status.counts.waiting) waiting, \(status.counts.succeeded) succeeded, \(status.counts.failed) failed, \(status.counts.rejected) rejected, \(status.counts.cancelled) cancelled",
        ]
        if status.liveResources.isEmpty {
            lines.append("  resources:     none live")
        } else {
            lines.append("  resources:     \(status.liveResources.count) live")
            for r in status.liveResources {
                lines.append(
                    "    \(pad(r.kind, 14))\(pad(formatDuration(r.ageSeconds), 12))\(pad(r.retained ? "kept" : "in use", 8))\(r.workflowID)  \(r.identifier)"
                )
            }
        }
        if let nodes = status.nodes {
            lines.append("  nodes:         \(nodes.count) sharing the store; this one is \(status.node ?? "?")")
            for n in nodes {
                lines.append(
                    "    \(pad(n.id, 34))\(pad(n.version, 10))heartbeat \(pad(formatDuration(n.heartbeatAgeSeconds) + " ago", 12))\(n.workflowsHeld) workflows held"
                )
            }
        } else if let node = status.node {
            lines.append("  node:          \(node)")
        }
        if let identities = status.identities {
            if identities.isEmpty { lines.append("  identity:      no backend with an identity of its own") }
            for entry in identities {
                lines.append("  identity:      backend \(entry.backend): " + (entry.identity ?? "unknown (\(entry.error ?? "no answer"))"))
            }
        }
        return lines.joined(separator: "\n")
    }

    static func formatDuration(_ seconds: Double) -> String {
        let total = seconds.isFinite ? Int(min(max(0, seconds), 1e12)) : 0
        let (d, h, m, s) = (total / 86400, total / 3600 % 24, total / 60 % 60, total % 60)
        if d > 0 { return "\(d)d \(h)h \(m)m" }
        if h > 0 { return "\(h)h \(m)m \(s)s" }
        if m > 0 { return "\(m)m \(s)s" }
        return "\(s)s"
    }
}
