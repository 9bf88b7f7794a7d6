import Foundation

/// The custom model against the base model, prompt by prompt: a scatter of the two F1 scores
/// with the diagonal (above it the custom model won), and the distribution of the differences
/// with their mean and the bootstrap interval of the mean.
enum ComparisonCharts {
    static func scatter(_ prompts: [WorkflowReport.PromptResult]) -> String? {
        guard !prompts.isEmpty else { return nil }
        var canvas = SVGCanvas(id: "f1-scatter", width: 460, height: 440)
        // 0…1, widened for the rare score outside it (a cosine can be negative).
        let values = prompts.flatMap { [$0.baseF1, $0.customF1].compactMap { $0 } }
        let low = min(0, values.min() ?? 0), high = max(1, values.max() ?? 1)
        let x = LinearScale((low, high), to: (canvas.plotLeft, canvas.plotRight))
        let y = LinearScale((low, high), to: (canvas.plotBottom, canvas.plotTop))
        canvas.axes(x: x, y: y, xLabel: "base model F1", yLabel: "custom model F1")
        canvas.add(
            "<line class=\"diagonal\" x1=\"\(HTMLText.number(x(low)))\" y1=\"\(HTMLText.number(y(low)))\" x2=\"\(HTMLText.number(x(high)))\" y2=\"\(HTMLText.number(y(high)))\"/>"
                + "<text class=\"annotation\" x=\"\(HTMLText.number(x(0.04)))\" y=\"\(HTMLText.number(y(0.93)))\">custom better ↑</text>"
                + "<text class=\"annotation\" x=\"\(HTMLText.number(x(0.96)))\" y=\"\(HTMLText.number(y(0.05)))\" text-anchor=\"end\">base better ↓</text>"
        )
        var won = 0, lost = 0, tied = 0
        for p in prompts {
            guard let b = p.baseF1, let c = p.customF1, let d = p.difference else { continue }
            let kind: String
            if d > 1e-4 {
                kind = "won"
                won += 1
            } else if d < -1e-4 {
                kind = "lost"
                lost += 1
            } else {
                kind = "tied"
                tied += 1
            }
            canvas.add(
                "<circle class=\"mark-point \(kind)\" cx=\"\(HTMLText.number(x(b)))\" cy=\"\(HTMLText.number(y(c)))\" r=\"\(prompts.count > 200 ? 2.5 : 3.5)\"><title>prompt \(p.index + 1): base \(String(format: "%.3f", b)), custom \(String(format: "%.3f", c))</title></circle>"
            )
        }
        let description =
            "\(won + lost + tied) prompts: the custom model scored higher on \(won), lower on \(lost), the same on \(tied). Points above the diagonal are prompts the custom model won."
        return canvas.figure(
            title: "BERTScore F1 per prompt, custom against base", description: description,
            caption: description + " Filled: won; hollow: lost; grey: tied.")
    }

    /// Buckets of the per-prompt differences; the mean as a line, its interval as a band.
    static func histogram(_ differences: [Double], mean: Double?, interval: (Double, Double)?) -> String? {
        guard !differences.isEmpty else { return nil }
        var canvas = SVGCanvas(id: "f1-differences", height: 280)
        let extent = max(differences.map(abs).max() ?? 0, abs(interval?.0 ?? 0), abs(interval?.1 ?? 0), 0.01)
        let buckets = differences.count >= 40 ? 20 : 10
        let width = 2 * extent / Double(buckets)
        var counts = Array(repeating: 0, count: buckets)
        for d in differences { counts[min(buckets - 1, max(0, Int((d + extent) / width)))] += 1 }
        let x = LinearScale((-extent, extent), to: (canvas.plotLeft, canvas.plotRight))
        let y = LinearScale((0, Double(counts.max()!) * 1.1), to: (canvas.plotBottom, canvas.plotTop))
        canvas.axes(x: x, y: y, xLabel: "custom F1 − base F1", yLabel: "prompts")
        if let interval {
            canvas.add(
                "<rect class=\"interval-band\" x=\"\(HTMLText.number(x(interval.0)))\" y=\"\(HTMLText.number(canvas.plotTop))\" width=\"\(HTMLText.number(max(x(interval.1) - x(interval.0), 1)))\" height=\"\(HTMLText.number(canvas.plotBottom - canvas.plotTop))\"><title>95% bootstrap interval of the mean: \(String(format: "%+.4f to %+.4f", interval.0, interval.1))</title></rect>"
            )
        }
        for (i, count) in counts.enumerated() {
            let left = x(-extent + Double(i) * width), right = x(-extent + Double(i + 1) * width)
            let low = -extent + Double(i) * width
            canvas.add(
                "<rect class=\"mark-bucket\" x=\"\(HTMLText.number(left + 0.5))\" y=\"\(HTMLText.number(y(Double(count))))\" width=\"\(HTMLText.number(max(right - left - 1, 0.5)))\" height=\"\(HTMLText.number(y(0) - y(Double(count))))\"><title>\(count) prompts between \(String(format: "%+.3f and %+.3f", low, low + width))</title></rect>"
            )
        }
        canvas.add(
            "<line class=\"zero-line\" x1=\"\(HTMLText.number(x(0)))\" x2=\"\(HTMLText.number(x(0)))\" y1=\"\(HTMLText.number(canvas.plotTop))\" y2=\"\(HTMLText.number(canvas.plotBottom))\"/>"
        )
        if let mean {
            canvas.add(
                "<line class=\"mean-line\" x1=\"\(HTMLText.number(x(mean)))\" x2=\"\(HTMLText.number(x(mean)))\" y1=\"\(HTMLText.number(canvas.plotTop))\" y2=\"\(HTMLText.number(canvas.plotBottom))\"/>"
                    + "<text class=\"annotation\" x=\"\(HTMLText.number(x(mean) + 4))\" y=\"\(HTMLText.number(canvas.plotTop + 12))\">mean \(String(format: "%+.4f", mean))</text>"
            )
        }
        var description =
            "\(differences.count) per-prompt differences in \(buckets) buckets from \(String(format: "%+.3f", -extent)) to \(String(format: "%+.3f", extent))."
        if let mean { description += String(format: " Mean %+.4f", mean) }
        if let interval { description += String(format: ", 95%% bootstrap interval %+.4f to %+.4f", interval.0, interval.1) }
        description += "."
        return canvas.figure(
            title: "Distribution of the per-prompt differences", description: description,
            caption: description + " Right of the dashed zero line the custom model did better; the shaded band is the interval.")
    }
}
