import FinetunedWorkflow
import Foundation

/// Bar charts mail readers render: table cells of a given width and colour, no SVG (which
/// common readers drop), no image (which many block), no CSS beyond inline styles. Dark and
/// light fills, with the value written beside each bar, so they read in greyscale too.
enum MailCharts {
    static let width = 240.0

    /// Mean F1 of both models, each a bar on a 0…1 scale.
    static func scores(_ scores: ScoreSummary?) -> String {
        guard let s = scores else { return "" }
        let rows = [("custom model", s.meanCustomF1, "#0d3b66"), ("base model", s.meanBaseF1, "#8aa6c1")].map { name, value, colour in
            bar(label: name, value: value, scale: 1, colour: colour, text: String(format: "%.4f", value), kind: "f1")
        }
        return section(
            "Mean BERTScore F1 over \(s.prompts) prompts (\(String(format: "%+.4f", s.meanCustomF1 - s.meanBaseF1)) for the custom model)",
            rows)
    }

    /// Mean training loss per epoch, one bar each, the kept epoch named.
    static func loss(_ epochs: [EpochMetrics]) -> String {
        guard let top = epochs.map({ max($0.trainingLoss, $0.validationLoss ?? 0) }).max(), top > 0 else { return "" }
        let rows = epochs.map { e in
            bar(
                label: "epoch \(e.epoch)" + (e.kept == true ? " (kept)" : ""), value: e.trainingLoss, scale: top, colour: "#0d3b66",
                text: String(format: "%.4f", e.trainingLoss) + (e.validationLoss.map { String(format: " (validation %.4f)", $0) } ?? ""),
                kind: "loss")
        }
        return section("Training loss per epoch", rows)
    }

    private static func section(_ title: String, _ rows: [String]) -> String {
        "<p style=\"margin:12px 0 4px 0\"><strong>\(NotificationMessage.escape(title))</strong></p>\n"
            + "<table role=\"presentation\" cellpadding=\"2\" cellspacing=\"0\">\n" + rows.joined(separator: "\n") + "\n</table>\n"
    }

    private static func bar(label: String, value: Double, scale: Double, colour: String, text: String, kind: String) -> String {
        let pixels = max(1, Int((min(max(value / scale, 0), 1) * width).rounded()))
        return "<tr><td style=\"padding-right:8px\">\(NotificationMessage.escape(label))</td>"
            + "<td><table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\"><tr>"
            + "<td class=\"bar bar-\(kind)\" width=\"\(pixels)\" height=\"12\" bgcolor=\"\(colour)\" style=\"width:\(pixels)px;height:12px;background:\(colour);font-size:0;line-height:0\">&nbsp;</td>"
            + "<td style=\"padding-left:6px\">\(NotificationMessage.escape(text))</td></tr></table></td></tr>"
    }
}
