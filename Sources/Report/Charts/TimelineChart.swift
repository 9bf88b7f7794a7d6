import FinetunedWorkflow
import Foundation

/// The run's phases and the billable resources on one time axis: a row per phase, then a row
/// per resource from its creation to its deletion (or to now, hatched, while it lives).
enum TimelineChart {
    static func render(stages: [WorkflowReport.StageSpan], resources: [ResourceRecord], now: Date) -> String? {
        guard let start = (stages.map(\.start) + resources.map(\.createdAt)).min() else { return nil }
        let billable = resources.filter { $0.kind != .trainingData }
        let rows = WorkflowReport.Phase.allCases.filter { phase in stages.contains { $0.phase == phase } }.count + billable.count
        let rowHeight = 24.0
        var canvas = SVGCanvas(id: "timeline", width: 720, height: 16 + Double(rows) * rowHeight + 50)
        let end = max((stages.map(\.end) + billable.map { $0.deletedAt ?? now }).max() ?? now, start.addingTimeInterval(1))
        let total = end.timeIntervalSince(start)
        let left = 250.0
        let x = LinearScale((0, total), to: (left, canvas.plotRight))
        let axisY = canvas.plotTop + Double(rows) * rowHeight + 4
        for tick in x.ticks(6) {
            canvas.add(
                "<line class=\"grid\" x1=\"\(HTMLText.number(x(tick)))\" x2=\"\(HTMLText.number(x(tick)))\" y1=\"\(HTMLText.number(canvas.plotTop))\" y2=\"\(HTMLText.number(axisY))\"/>"
                    + "<text class=\"tick\" x=\"\(HTMLText.number(x(tick)))\" y=\"\(HTMLText.number(axisY + 16))\" text-anchor=\"middle\">\(HTMLText.duration(tick))</text>"
            )
        }
        canvas.add(
            "<text class=\"axis-label\" x=\"\(HTMLText.number((left + canvas.plotRight) / 2))\" y=\"\(HTMLText.number(axisY + 36))\" text-anchor=\"middle\">time since the upload began</text>"
        )
        var row = 0
        var lines: [String] = []
        for phase in WorkflowReport.Phase.allCases {
            let spans = stages.filter { $0.phase == phase }
            guard !spans.isEmpty else { continue }
            let y = canvas.plotTop + Double(row) * rowHeight
            let spent = spans.map(\.duration).reduce(0, +)
            canvas.add(
                "<text class=\"row-label\" x=\"\(HTMLText.number(left - 8))\" y=\"\(HTMLText.number(y + 15))\" text-anchor=\"end\">\(phase.rawValue) · \(HTMLText.duration(spent))</text>"
            )
            for span in spans {
                let a = x(span.start.timeIntervalSince(start)), b = x(span.end.timeIntervalSince(start))
                canvas.add(
                    "<rect class=\"mark-phase phase-\(phase.rawValue)\" x=\"\(HTMLText.number(a))\" y=\"\(HTMLText.number(y + 4))\" width=\"\(HTMLText.number(max(b - a, 1.5)))\" height=\"\(HTMLText.number(rowHeight - 8))\"><title>\(phase.rawValue): \(HTMLText.duration(span.duration))</title></rect>"
                )
            }
            lines.append("\(phase.rawValue) \(HTMLText.duration(spent))")
            row += 1
        }
        for resource in billable {
            let y = canvas.plotTop + Double(row) * rowHeight
            let a = x(resource.createdAt.timeIntervalSince(start)), b = x((resource.deletedAt ?? now).timeIntervalSince(start))
            let lived = (resource.deletedAt ?? now).timeIntervalSince(resource.createdAt)
            let state = resource.deletedAt == nil ? (resource.retained ? "kept, still alive" : "still alive") : "deleted"
            canvas.add(
                "<text class=\"row-label\" x=\"\(HTMLText.number(left - 8))\" y=\"\(HTMLText.number(y + 15))\" text-anchor=\"end\">\(HTMLText.escape(resource.kind.words)) · \(HTMLText.duration(lived))</text>"
                    + "<rect class=\"mark-resource \(resource.deletedAt == nil ? "alive" : "deleted")\" x=\"\(HTMLText.number(a))\" y=\"\(HTMLText.number(y + 4))\" width=\"\(HTMLText.number(max(b - a, 1.5)))\" height=\"\(HTMLText.number(rowHeight - 8))\"><title>\(HTMLText.escape(resource.kind.words)) \(HTMLText.escape(resource.identifier)): \(state) after \(HTMLText.duration(lived))</title></rect>"
            )
            lines.append("\(resource.kind.words) lived \(HTMLText.duration(lived)) (\(state))")
            row += 1
        }
        return canvas.figure(
            title: "Timeline of the run",
            description: "From the upload to the notification, \(HTMLText.duration(total)): " + lines.joined(separator: "; ") + ".",
            caption: "Each phase of the run, then each billable resource from its creation to its deletion (hatched: still alive).")
    }
}
