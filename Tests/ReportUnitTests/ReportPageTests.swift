import FinetunedReport
import FinetunedTestSupport
import FinetunedText
import FinetunedWorkflow
import Foundation
import Testing

/// The page and its charts from reports made to order; the browser's view of the same pages
/// is in IntegrationTests (`ReportRenderingTests`).
@Suite("workflow report: the page")
struct ReportPageTests {
    @Test("one mark per scored prompt, one pair of bars per epoch, a bar per bucket, ten examples; the verdict in words")
    func marks() {
        let report = ReportFixtures.report(prompts: 60, epochs: 5)
        let html = ReportPage.render(report)
        #expect(ReportFixtures.count("mark-point", in: html) == 60)
        #expect(ReportFixtures.count("mark-bar", in: html) == 10, "training and validation bar for each of 5 epochs")
        #expect(ReportFixtures.count("mark-bucket", in: html) == 20)
        #expect(ReportFixtures.count("mark-validation", in: html) == 5)
        #expect(ReportFixtures.count("example", in: html) == 10)
        #expect(ReportFixtures.count("mark-phase", in: html) == 7 && ReportFixtures.count("mark-resource", in: html) == 2)
        #expect(html.contains("<p class=\"verdict-word\">Kept</p>") && html.contains(report.sentence))
        #expect(html.contains("epoch 3 kept") && html.contains(">kept</text>"), "the kept epoch is marked on both loss charts")
    }

    @Test("every chart has a title, a description and a caption; nothing is fetched from anywhere")
    func selfContained() {
        let html = ReportPage.render(ReportFixtures.report())
        let svgs = html.matches(of: #/<svg role="img" aria-labelledby="([a-z0-9-]+)-title \1-desc"/#).count
        #expect(svgs == 5, "loss per step and per epoch, scatter, histogram, timeline")
        #expect(html.matches(of: #/<figcaption>/#).count == svgs && html.matches(of: #/<desc id=/#).count == svgs)
        #expect(html.contains("Content-Security-Policy\" content=\"default-src 'none'"))
        #expect(!html.lowercased().contains("<script"))
        // Every reference the page makes is to itself (a fragment) or inline (data:).
        let references = html.matches(of: #/(?:src|href|xlink:href)\s*=\s*"([^"]*)"/#).map { String($0.output.1) }
        #expect(references.allSatisfy { $0.hasPrefix("data:") || $0.hasPrefix("#") }, "\(references)")
        let urls = html.matches(of: #/url\(([^)]*)\)/#).map { String($0.output.1) }
        #expect(urls.allSatisfy { $0.hasPrefix("#") }, "\(urls)")
        #expect(!html.contains("@import") && !html.contains("@font-face"))
    }

    @Test("a hostile prompt, reference or answer is text on the page, never markup")
    func hostileText() {
        var report = ReportFixtures.report(prompts: 30)
        report.prompts[0].prompt = "<script>alert(1)</script><img src=x onerror=alert(2)> \u{1B}[31m\u{07}"
        report.prompts[0].customF1 = 1
        report.prompts[0].baseF1 = 0
        report.prompts[1].reference = "</td></tr></table><iframe src=\"https://example.com\">"
        report.dropName = "<b>q4</b>.jsonl"
        let html = ReportPage.render(report)
        #expect(!html.lowercased().contains("<script") && !html.contains("<img") && !html.contains("<iframe") && !html.contains("<b>q4"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the largest gain shows the prompt, escaped")
        #expect(!html.contains("\u{1B}") && !html.contains("\u{07}"))
    }

    @Test("500 prompts: every point drawn, the examples still ten, the page under 2 MB")
    func large() {
        let html = ReportPage.render(ReportFixtures.report(prompts: 500))
        #expect(ReportFixtures.count("mark-point", in: html) == 500)
        #expect(ReportFixtures.count("example", in: html) == 10)
        #expect(html.utf8.count < 2 << 20, "\(html.utf8.count) bytes")
    }

    @Test("no validation loss: training marks only, and the page says so")
    func noValidation() {
        let html = ReportPage.render(ReportFixtures.report(epochs: 4, validation: false))
        #expect(ReportFixtures.count("mark-validation", in: html) == 0)
        #expect(ReportFixtures.count("mark-bar", in: html) == 4)
        #expect(html.contains("The job reported no validation loss.") && html.contains("No validation loss was reported."))
    }

    @Test("one prompt unanswered: no point for it, and the figures count it")
    func unanswered() {
        var report = ReportFixtures.report(prompts: 40)
        report.prompts[7].custom = nil
        report.prompts[7].customF1 = nil
        let html = ReportPage.render(report)
        #expect(ReportFixtures.count("mark-point", in: html) == 39)
        #expect(html.contains("(1 without both answers in the archive)"))
    }

    @Test("every prompt tied: all points grey on the diagonal, one bucket holds them all, no examples to show")
    func tied() {
        var report = ReportFixtures.report(prompts: 25)
        for i in report.prompts.indices { report.prompts[i].customF1 = report.prompts[i].baseF1 }
        let html = ReportPage.render(report)
        #expect(ReportFixtures.count("mark-point", in: html) == 25 && ReportFixtures.count("tied", in: html) == 25)
        #expect(html.contains("<title>25 prompts between"))
        #expect(html.contains("Every prompt scored the same with both models.") && ReportFixtures.count("example", in: html) == 0)
    }

    @Test("failed after training: the reason, the loss curves, and no comparison")
    func failedAfterTraining() {
        var report = ReportFixtures.report(prompts: 0, verdict: .failed)
        report.sentence = "Failed after training: the throughput failed: quota exceeded. Nothing was scored."
        let html = ReportPage.render(report)
        #expect(html.contains("<p class=\"verdict-word\">Failed</p>") && html.contains("quota exceeded"))
        #expect(ReportFixtures.count("mark-bar", in: html) == 10 && ReportFixtures.count("mark-point", in: html) == 0)
        #expect(html.contains("No prompt was scored.") && !html.contains("id=\"figures\""))
    }
}

@Suite("workflow report: what it is made of")
struct ReportDataTests {
    @Test("stages group into the phases people name, consecutive stages of one phase merged, admission and the end left out")
    func phases() {
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        let stages: [(WorkflowStage, Double)] = [
            (.claimed, 0), (.validated, 1), (.uploaded, 3), (.jobCreated, 4), (.training, 10), (.training, 50), (.jobCompleted, 100),
            (.throughputCreating, 101), (.inService, 160), (.baseInference, 200), (.customInference, 240), (.scored, 250),
            (.decided, 251), (.throughputDeleted, 255), (.notified, 260), (.done, 261),
        ]
        let events = stages.map { WorkflowEvent(workflowID: "w", at: t0.addingTimeInterval($0.1), stage: $0.0, kind: .transition, message: "") }
        let spans = ReportCollector.spans(events, until: t0.addingTimeInterval(300))
        #expect(spans.map(\.phase) == [.upload, .queue, .training, .serving, .inference, .scoring, .cleanup])
        #expect(spans.map(\.duration) == [2, 7, 90, 60, 80, 11, 9])
    }

    @Test("step-wise metric files: steps, epochs made 1-based, bad lines skipped; the kept epoch on Bedrock is the last")
    func steps() {
        let csv = "step_number,epoch_number,training_loss,perplexity\n1,0,2.5,12\n2,0,nan,1\n3,1,1.5,4\nx,1,1,1\n4,1,1.25,3\n"
        let steps = TrainingMetricsCSV.steps(csv, value: "training_loss")
        #expect(steps.map(\.step) == [1, 3, 4] && steps.map(\.epoch) == [1, 2, 2] && steps.map(\.loss) == [2.5, 1.5, 1.25])
        let epochs = TrainingMetricsCSV.epochs(stepWise: csv, validation: nil)
        #expect(epochs.map(\.kept) == [false, true])
        #expect(TrainingMetricsCSV.steps("epoch_number,training_loss\n1,2\n", value: "training_loss").isEmpty, "no step column")
    }

    @Test("a loss series as a sparkline: highest █, lowest ▁, flat in the middle, nothing for nothing")
    func sparkline() {
        #expect(Sparkline.of([2, 1.5, 1, 0.5]) == "█▆▃▁")
        #expect(Sparkline.of([1, 1]) == "▄▄")
        #expect(Sparkline.of([]) == "")
    }
}
