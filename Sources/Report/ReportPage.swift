import FinetunedTime
import FinetunedValidation
import FinetunedWorkflow
import Foundation

/// `report.html`: one self-contained page (inline CSS and SVG, no script, no font, image or
/// style from anywhere else; its Content-Security-Policy forbids them too), readable offline
/// and printable in greyscale.
public enum ReportPage {
    public static func render(_ report: WorkflowReport) -> String {
        let title = "\(report.profile)/\(report.dropName): \(report.verdict.rawValue)"
        var sections: [String] = [verdict(report), figures(report)]
        sections.append(training(report))
        sections.append(comparison(report))
        sections.append(examples(report))
        sections.append(validation(report.validation))
        sections.append(timeline(report))
        sections.append(files(report))
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="finetuned">
            <link rel="icon" href="data:,">
            <title>\(HTMLText.escape(title))</title>
            <style>\(style)</style>
            </head>
            <body>
            <svg width="0" height="0" aria-hidden="true" style="position:absolute"><defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#0d3b66" stroke-width="2.5"/></pattern></defs></svg>
            <header>
            <h1>\(HTMLText.escape(report.profile))/\(HTMLText.escape(report.dropName))</h1>
            <p class="meta">Workflow <code>\(HTMLText.escape(report.workflowID))</code>\(report.baseModel.map { " · base model <code>\(HTMLText.escape($0))</code>" } ?? "") · report written \(UTCTime(report.generatedAt).iso8601)</p>
            </header>
            <main>
            \(sections.joined(separator: "\n"))
            </main>
            </body>
            </html>

            """
    }

    static func verdict(_ report: WorkflowReport) -> String {
        """
        <section class="verdict verdict-\(report.verdict == .kept ? "kept" : report.verdict == .failed || report.verdict == .cancelled ? "stopped" : "not-kept")" id="verdict">
        <p class="verdict-word">\(HTMLText.escape(report.verdict.rawValue.capitalized))</p>
        <p class="verdict-sentence">\(HTMLText.escape(report.sentence))</p>
        </section>
        """
    }

    static func figures(_ report: WorkflowReport) -> String {
        guard let s = report.scores else { return "" }
        let unanswered = report.prompts.filter { $0.base == nil || $0.custom == nil }.count
        let rows: [(String, String)] = [
            ("Mean BERTScore F1, custom model", String(format: "%.4f", s.meanCustomF1)),
            ("Mean BERTScore F1, base model", String(format: "%.4f", s.meanBaseF1)),
            ("Difference (custom − base)", String(format: "%+.4f", s.meanCustomF1 - s.meanBaseF1)),
            ("95% bootstrap interval of the difference", String(format: "%+.4f to %+.4f", s.confidenceLow, s.confidenceHigh)),
            ("Resamples in which the custom model wins", String(format: "%.1f%%", s.winShare * 100)),
            ("Prompts scored", "\(s.prompts)"),
            (
                "Prompts left out",
                "\(s.excludedUnanswered) unanswered, \(s.excludedLeaked) also in the training data"
                    + (unanswered > 0 ? " (\(unanswered) without both answers in the archive)" : "")
            ),
        ]
        return "<section id=\"figures\"><h2>Key figures</h2>\n" + table(rows) + "</section>"
    }

    static func training(_ report: WorkflowReport) -> String {
        let kept = report.epochs.first { $0.kept == true }?.epoch
        let charts = [
            LossCharts.perStep(training: report.trainingSteps, validation: report.validationSteps, kept: kept),
            LossCharts.perEpoch(report.epochs),
        ].compactMap { $0 }
        let body = charts.isEmpty ? "<p class=\"note\">The job reported no training metrics.</p>" : charts.joined(separator: "\n")
        return "<section id=\"training\"><h2>Training</h2>\n\(body)\n</section>"
    }

    static func comparison(_ report: WorkflowReport) -> String {
        let scored = report.scored
        guard !scored.isEmpty else {
            return "<section id=\"comparison\"><h2>Custom against base</h2>\n<p class=\"note\">No prompt was scored.</p></section>"
        }
        let differences = scored.compactMap(\.difference)
        let charts = [
            ComparisonCharts.scatter(scored),
            ComparisonCharts.histogram(
                differences, mean: report.scores.map { $0.meanCustomF1 - $0.meanBaseF1 },
                interval: report.scores.flatMap { $0.prompts > 0 ? ($0.confidenceLow, $0.confidenceHigh) : nil }),
        ].compactMap { $0 }
        return "<section id=\"comparison\"><h2>Custom against base</h2>\n" + charts.joined(separator: "\n") + "\n</section>"
    }

    static func examples(_ report: WorkflowReport) -> String {
        let gains = report.largestGains, losses = report.largestLosses
        guard !gains.isEmpty || !losses.isEmpty else {
            return report.scored.isEmpty
                ? "" : "<section id=\"examples\"><h2>Examples</h2>\n<p class=\"note\">Every prompt scored the same with both models.</p></section>"
        }
        func block(_ title: String, _ id: String, _ prompts: [WorkflowReport.PromptResult], empty: String) -> String {
            guard !prompts.isEmpty else { return "<h3>\(title)</h3><p class=\"note\">\(empty)</p>" }
            let items = prompts.map { p in
                """
                <article class="example">
                <details><summary><span class="delta">\(String(format: "%+.3f", p.difference ?? 0))</span> prompt \(p.index + 1)\(p.line > 0 ? " (line \(p.line))" : ""): \(HTMLText.escape(HTMLText.shortened(p.prompt, limit: 140)))</summary>
                <pre class="prompt">\(HTMLText.escape(p.prompt))</pre>
                </details>
                <table class="answers">
                <tr><th>Reference</th><td colspan="2">\(HTMLText.escape(p.reference))</td></tr>
                <tr><th>Base model</th><td>\(answer(p.base))</td><td class="score">F1 \(p.baseF1.map { String(format: "%.3f", $0) } ?? "–")</td></tr>
                <tr><th>Custom model</th><td>\(answer(p.custom))</td><td class="score">F1 \(p.customF1.map { String(format: "%.3f", $0) } ?? "–")</td></tr>
                </table>
                </article>
                """
            }
            return "<h3 id=\"\(id)\">\(title)</h3>\n" + items.joined(separator: "\n")
        }
        return "<section id=\"examples\"><h2>Examples</h2>\n"
            + block("The five largest gains", "gains", gains, empty: "The custom model won no prompt.") + "\n"
            + block("The five largest losses", "losses", losses, empty: "The custom model lost no prompt.") + "\n</section>"
    }

    static func answer(_ text: String?) -> String {
        text.map { HTMLText.escape($0) } ?? "<em>no answer</em>"
    }

    static func validation(_ report: ValidationReport?) -> String {
        guard let report else { return "" }
        var rows: [(String, String)] = [
            ("Records", "\(report.records) (\(report.lines) lines, \(report.bytes) bytes)"),
            (
                "Estimated tokens",
                "\(report.estimatedInputTokens) in, \(report.estimatedOutputTokens) out per epoch" + (report.epochs.map { ", \($0) epochs" } ?? "")
            ),
        ]
        if let cost = report.estimatedCost {
            var parts: [String] = []
            if let t = cost.training { parts.append(String(format: "training %.2f %@", t, cost.currency)) }
            if let s = cost.storagePerMonth { parts.append(String(format: "storage %.2f %@ a month", s, cost.currency)) }
            if let h = cost.throughputPerModelUnitHour {
                parts.append(String(format: "provisioned throughput %.2f %@ per model unit hour", h, cost.currency))
            }
            rows.append(
                ("Estimated cost", (parts.isEmpty ? "no prices known" : parts.joined(separator: "; ")) + " (prices as of \(cost.pricesAsOf))"))
        }
        if let largest = report.largestRecord { rows.append(("Largest record", "line \(largest.line), \(largest.totalTokens) tokens")) }
        if report.duplicateRecords > 0 { rows.append(("Duplicate records", "\(report.duplicateRecords)")) }
        let warnings = report.problemCounts.filter { $0.severity == .warning }
        rows.append(("Warnings", warnings.isEmpty ? "none" : warnings.map { "\($0.kind.rawValue) × \($0.count)" }.joined(separator: ", ")))
        return "<section id=\"validation\"><h2>The training data, as validated</h2>\n" + table(rows) + "</section>"
    }

    static func timeline(_ report: WorkflowReport) -> String {
        let chart = TimelineChart.render(stages: report.stages, resources: report.resources, now: report.generatedAt) ?? ""
        let rows = report.resources.map { r -> String in
            let end = r.deletedAt ?? report.generatedAt
            let state = r.deletedAt.map { "deleted " + UTCTime($0).iso8601 } ?? (r.retained ? "kept, alive" : "alive")
            return
                "<tr><td>\(HTMLText.escape(r.kind.words))</td><td><code>\(HTMLText.escape(r.identifier))</code></td><td>\(UTCTime(r.createdAt).iso8601)</td><td>\(HTMLText.escape(state))\(r.recovered ? " (found after an interruption)" : "")</td><td>\(HTMLText.duration(end.timeIntervalSince(r.createdAt)))</td></tr>"
        }
        let table =
            rows.isEmpty
            ? ""
            : "<table class=\"resources\"><tr><th>Resource</th><th>Identifier</th><th>Created</th><th>State</th><th>Lived</th></tr>\n"
                + rows.joined(separator: "\n") + "</table>"
        return "<section id=\"timeline-section\"><h2>Stages and resources</h2>\n\(chart)\n\(table)\n</section>"
    }

    static func files(_ report: WorkflowReport) -> String {
        let items = report.files.map { f in
            "<li><code>\(HTMLText.escape(f.name))</code>\(f.bytes.map { " (\($0) bytes)" } ?? ""): \(HTMLText.escape(f.what))</li>"
        }
        return "<section id=\"files\"><h2>Files</h2>\n<p>In <code>\(HTMLText.escape(report.archiveFolder))</code>:</p>\n<ul>\n"
            + items.joined(separator: "\n")
            + "\n</ul>\n</section>"
    }

    static func table(_ rows: [(String, String)]) -> String {
        "<table class=\"figures\">\n"
            + rows.map { "<tr><th>\(HTMLText.escape($0.0))</th><td>\(HTMLText.escape($0.1))</td></tr>" }.joined(separator: "\n")
            + "\n</table>\n"
    }

    /// Dark and light tones of one hue with hatching: the marks stay apart in greyscale.
    static let style = """
        :root { color-scheme: light; }
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 60rem; padding: 1.5rem; color: #111; line-height: 1.45; }
        h1 { font-size: 1.5rem; margin: 0; word-break: break-word; } h2 { font-size: 1.2rem; border-bottom: 1px solid #999; margin-top: 2rem; }
        h3 { font-size: 1rem; } .meta, .note { color: #444; } code { font-size: 0.9em; word-break: break-all; }
        .verdict { border: 2px solid #111; padding: 0.6rem 1rem; margin-top: 1rem; }
        .verdict-kept { border-left: 12px solid #1b5e20; } .verdict-not-kept { border-left: 12px double #555; } .verdict-stopped { border-left: 12px dashed #222; }
        .verdict-word { font-size: 1.4rem; font-weight: 700; margin: 0; }
        table { border-collapse: collapse; margin: 0.5rem 0; } th, td { text-align: left; vertical-align: top; padding: 0.2rem 0.6rem; border-bottom: 1px solid #ddd; }
        table.answers td, table.answers th { font-size: 0.92rem; } td.score { white-space: nowrap; }
        figure.chart { margin: 1rem 0; break-inside: avoid; } figure svg { max-width: 100%; height: auto; }
        figcaption { font-size: 0.9rem; color: #333; }
        svg text { font-family: inherit; font-size: 11px; fill: #222; } svg .axis-label { font-size: 12px; } svg .annotation { font-size: 11px; font-style: italic; }
        svg .grid { stroke: #e3e3e3; } svg .axis, svg .tickmark { stroke: #333; }
        svg .series-training { fill: none; stroke: #0d3b66; stroke-width: 1.6; }
        svg .mark-validation, svg .legend-validation { fill: #fff; stroke: #111; stroke-width: 1.5; }
        svg .epoch-train { fill: #0d3b66; } svg .epoch-validation { fill: url(#hatch); stroke: #0d3b66; }
        svg .kept-band { fill: #f0e6c8; } svg .kept-label { font-weight: 700; font-style: normal; }
        svg .diagonal { stroke: #555; stroke-dasharray: 5 4; }
        svg .mark-point.won { fill: #0d3b66; } svg .mark-point.lost { fill: #fff; stroke: #0d3b66; stroke-width: 1.4; } svg .mark-point.tied { fill: #999; }
        svg .mark-bucket { fill: #5c7fa3; } svg .interval-band { fill: #f0e6c8; } svg .zero-line { stroke: #333; stroke-dasharray: 4 3; }
        svg .mean-line { stroke: #111; stroke-width: 2; }
        svg .mark-phase { fill: #0d3b66; } svg .mark-resource.deleted { fill: #8aa6c1; } svg .mark-resource.alive { fill: #444; stroke: #000; stroke-dasharray: 3 2; }
        .example { border-top: 1px solid #bbb; padding: 0.3rem 0; break-inside: avoid; } .delta { font-weight: 700; font-variant-numeric: tabular-nums; }
        pre.prompt { white-space: pre-wrap; word-break: break-word; background: #f6f6f6; padding: 0.5rem; }
        details > summary { cursor: pointer; }
        @media print { body { max-width: none; padding: 0; } details { display: block; } h2 { break-after: avoid; } }
        """
}
