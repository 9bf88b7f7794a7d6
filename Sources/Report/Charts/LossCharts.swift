import FinetunedWorkflow
import Foundation

/// Training and validation loss: per step (a line, with each validation loss as a square) and
/// per epoch (a pair of bars each, the kept epoch marked). Solid against hatched and circles
/// against squares, so the two series stay apart in greyscale.
enum LossCharts {
    static func perStep(training: [TrainingMetricsCSV.StepLoss], validation: [TrainingMetricsCSV.StepLoss], kept: Int?) -> String? {
        guard training.count >= 2 else { return nil }
        var canvas = SVGCanvas(id: "loss-steps")
        let all = training.map(\.loss) + validation.map(\.loss)
        let steps = training.map(\.step) + validation.map(\.step)
        let x = LinearScale((Double(steps.min()!), Double(steps.max()!)), to: (canvas.plotLeft, canvas.plotRight))
        let y = LinearScale((min(0, all.min()!), all.max()! * 1.05), to: (canvas.plotBottom, canvas.plotTop))
        canvas.axes(x: x, y: y, xLabel: "training step", yLabel: "loss")
        // The kept epoch's steps, shaded.
        if let kept, let first = training.first(where: { $0.epoch == kept }), let last = training.last(where: { $0.epoch == kept }) {
            let left = x(Double(first.step)), right = max(x(Double(last.step)), left + 2)
            canvas.add(
                "<rect class=\"kept-band\" x=\"\(HTMLText.number(left))\" y=\"\(HTMLText.number(canvas.plotTop))\" width=\"\(HTMLText.number(right - left))\" height=\"\(HTMLText.number(canvas.plotBottom - canvas.plotTop))\"/>"
                    + "<text class=\"annotation\" x=\"\(HTMLText.number((left + right) / 2))\" y=\"\(HTMLText.number(canvas.plotTop + 12))\" text-anchor=\"middle\">epoch \(kept) kept</text>"
            )
        }
        let points = training.map { "\(HTMLText.number(x(Double($0.step)))),\(HTMLText.number(y($0.loss)))" }.joined(separator: " ")
        canvas.add("<polyline class=\"series-training\" points=\"\(points)\"/>")
        for v in validation {
            canvas.add(
                "<rect class=\"mark-validation\" x=\"\(HTMLText.number(x(Double(v.step)) - 4))\" y=\"\(HTMLText.number(y(v.loss) - 4))\" width=\"8\" height=\"8\"><title>epoch \(v.epoch), step \(v.step): validation loss \(String(format: "%.4f", v.loss))</title></rect>"
            )
        }
        canvas.add(legend(canvas, validation: !validation.isEmpty))
        let first = training.first!, last = training.last!
        var description = String(
            format: "Training loss over %d steps, from %.4f at step %d to %.4f at step %d.", training.count, first.loss, first.step, last.loss,
            last.step)
        if let v0 = validation.first, let v1 = validation.last {
            description += String(format: " Validation loss from %.4f to %.4f over %d evaluations.", v0.loss, v1.loss, validation.count)
        } else {
            description += " The job reported no validation loss."
        }
        if let kept { description += " The custom model holds epoch \(kept)'s weights." }
        return canvas.figure(title: "Loss per training step", description: description)
    }

    static func perEpoch(_ epochs: [EpochMetrics]) -> String? {
        guard !epochs.isEmpty else { return nil }
        var canvas = SVGCanvas(id: "loss-epochs", height: 280)
        let hasValidation = epochs.contains { $0.validationLoss != nil }
        let top = epochs.map { max($0.trainingLoss, $0.validationLoss ?? 0) }.max()!
        let y = LinearScale((0, max(top * 1.1, 1e-9)), to: (canvas.plotBottom, canvas.plotTop))
        let slot = (canvas.plotRight - canvas.plotLeft) / Double(epochs.count)
        let x = LinearScale((0.5, Double(epochs.count) + 0.5), to: (canvas.plotLeft, canvas.plotRight))
        canvas.axes(
            x: x, y: y, xLabel: "epoch", yLabel: "mean loss", xTicks: epochs.count <= 20 ? (1...epochs.count).map(Double.init) : nil,
            format: { value in
                let i = Int(value) - 1
                return epochs.indices.contains(i) ? "\(epochs[i].epoch)" : SVGCanvas.tickLabel(value)
            })
        let barWidth = min(28, slot * (hasValidation ? 0.38 : 0.7))
        for (i, epoch) in epochs.enumerated() {
            let centre = x(Double(i + 1))
            let trainLeft = hasValidation ? centre - barWidth - 1 : centre - barWidth / 2
            canvas.add(
                bar(
                    class: "mark-bar epoch-train", left: trainLeft, width: barWidth, value: epoch.trainingLoss, y: y,
                    label: "epoch \(epoch.epoch): training loss"))
            if let v = epoch.validationLoss {
                canvas.add(
                    bar(
                        class: "mark-bar epoch-validation", left: centre + 1, width: barWidth, value: v, y: y,
                        label: "epoch \(epoch.epoch): validation loss"))
            }
            if epoch.kept == true {
                canvas.add(
                    "<text class=\"annotation kept-label\" x=\"\(HTMLText.number(centre))\" y=\"\(HTMLText.number(y(max(epoch.trainingLoss, epoch.validationLoss ?? 0)) - 6))\" text-anchor=\"middle\">kept</text>"
                )
            }
        }
        canvas.add(legend(canvas, validation: hasValidation, bars: true))
        let kept = epochs.first { $0.kept == true }
        let description =
            epochs.map { e in
                "epoch \(e.epoch): training \(String(format: "%.4f", e.trainingLoss))"
                    + (e.validationLoss.map { ", validation " + String(format: "%.4f", $0) } ?? "") + (e.kept == true ? " (kept)" : "")
            }.joined(separator: "; ") + "." + (hasValidation ? "" : " No validation loss was reported.")
        return canvas.figure(
            title: "Loss per epoch", description: description,
            caption: "Mean training loss of each epoch (solid) and its validation loss (hatched)"
                + (kept.map { "; the custom model holds epoch \($0.epoch)'s weights." } ?? "."))
    }

    private static func bar(class name: String, left: Double, width: Double, value: Double, y: LinearScale, label: String) -> String {
        let top = y(value), bottom = y(0)
        return
            "<rect class=\"\(name)\" x=\"\(HTMLText.number(left))\" y=\"\(HTMLText.number(top))\" width=\"\(HTMLText.number(width))\" height=\"\(HTMLText.number(max(bottom - top, 0.5)))\"><title>\(HTMLText.escape(label)) \(String(format: "%.4f", value))</title></rect>"
    }

    private static func legend(_ canvas: SVGCanvas, validation: Bool, bars: Bool = false) -> String {
        // Above the plot, so it never covers a mark.
        let x = canvas.plotLeft + 4, y = 4.0
        var items =
            bars
            ? "<rect class=\"epoch-train\" x=\"\(HTMLText.number(x))\" y=\"\(HTMLText.number(y))\" width=\"14\" height=\"10\"/>"
            : "<line class=\"series-training\" x1=\"\(HTMLText.number(x))\" x2=\"\(HTMLText.number(x + 14))\" y1=\"\(HTMLText.number(y + 5))\" y2=\"\(HTMLText.number(y + 5))\"/>"
        items += "<text class=\"legend\" x=\"\(HTMLText.number(x + 20))\" y=\"\(HTMLText.number(y + 9))\">training loss</text>"
        if validation {
            items +=
                (bars
                    ? "<rect class=\"epoch-validation\" x=\"\(HTMLText.number(x + 120))\" y=\"\(HTMLText.number(y))\" width=\"14\" height=\"10\"/>"
                    : "<rect class=\"legend-validation\" x=\"\(HTMLText.number(x + 123))\" y=\"\(HTMLText.number(y + 1))\" width=\"8\" height=\"8\"/>")
                + "<text class=\"legend\" x=\"\(HTMLText.number(x + 140))\" y=\"\(HTMLText.number(y + 9))\">validation loss</text>"
        }
        return "<g class=\"legend-box\">" + items + "</g>"
    }
}
