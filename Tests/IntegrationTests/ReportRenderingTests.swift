import FinetunedReport
import FinetunedTestSupport
import Foundation
import Testing

/// The report as a browser shows it: Debian's Chromium, headless, loads each page from
/// 127.0.0.1 and the tests read back its DOM, its console and every request it made.
@Suite(
    "workflow report in a real browser", .serialized,
    .enabled(if: HeadlessChromium.isInstalled, "chromium is missing: make test installs it (scripts/install-test-deps)"))
struct ReportRenderingTests {
    /// Renders `report` and checks what every report must be: no console message, no request
    /// but the page's own, the verdict shown. Returns the DOM after layout.
    static func render(_ report: WorkflowReport, named name: String, screenshot: Bool = false) async throws -> String {
        let dir = try TemporaryDirectory(prefix: "report")
        defer { dir.remove() }
        let file = try dir.write("\(name).html", ReportPage.render(report))
        let png = screenshot ? try HeadlessChromium.outputDirectory() + "/\(name).png" : nil
        let rendering = try await HeadlessChromium().render(file: file, screenshot: png)
        #expect(rendering.console.isEmpty, "\(name): \(rendering.console)")
        #expect(rendering.pageRequests.isEmpty, "\(name): \(rendering.pageRequests)")
        #expect(rendering.dom.contains("class=\"verdict-word\">\(report.verdict.rawValue.capitalized)</p>"), "\(name)")
        return rendering.dom
    }

    @Test("the detector works: a page that loads an image from elsewhere and logs an error is caught")
    func negativeControl() async throws {
        let dir = try TemporaryDirectory(prefix: "report")
        defer { dir.remove() }
        let file = try dir.write(
            "bad.html",
            "<!DOCTYPE html><html><head><link rel=\"icon\" href=\"data:,\"></head><body><img src=\"https://cdn.example.com/logo.png\"><script>console.error('oops')</script></body></html>"
        )
        let rendering = try await HeadlessChromium().render(file: file)
        #expect(rendering.pageRequests == ["https://cdn.example.com/logo.png"], "\(rendering.pageRequests)")
        #expect(rendering.console.contains { $0.contains("oops") })
    }

    @Test("a 60-prompt report: its charts drawn with one mark per prompt, epoch and bucket; kept as a PNG")
    func typical() async throws {
        let report = ReportFixtures.report(prompts: 60, epochs: 5)
        let dom = try await Self.render(report, named: "report-typical", screenshot: true)
        #expect(ReportFixtures.count("mark-point", in: dom) == 60)
        #expect(ReportFixtures.count("mark-bar", in: dom) == 10)
        #expect(ReportFixtures.count("mark-bucket", in: dom) == 20)
        #expect(ReportFixtures.count("example", in: dom) == 10)
        #expect(dom.matches(of: #/<details>/#).count == 10, "every example's prompt expands")
    }

    @Test("edge cases render cleanly: no validation loss, an unanswered prompt, all tied, failed after training, 500 prompts")
    func edgeCases() async throws {
        let noValidation = try await Self.render(ReportFixtures.report(epochs: 4, validation: false), named: "report-no-validation")
        #expect(ReportFixtures.count("mark-bar", in: noValidation) == 4 && ReportFixtures.count("mark-validation", in: noValidation) == 0)

        var unanswered = ReportFixtures.report(prompts: 40)
        unanswered.prompts[3].base = nil
        unanswered.prompts[3].baseF1 = nil
        #expect(ReportFixtures.count("mark-point", in: try await Self.render(unanswered, named: "report-unanswered")) == 39)

        var tied = ReportFixtures.report(prompts: 25)
        for i in tied.prompts.indices { tied.prompts[i].customF1 = tied.prompts[i].baseF1 }
        let tiedDOM = try await Self.render(tied, named: "report-tied")
        #expect(ReportFixtures.count("tied", in: tiedDOM) == 25 && tiedDOM.contains("Every prompt scored the same"))

        var failed = ReportFixtures.report(prompts: 0, verdict: .failed)
        failed.sentence = "Failed after training: the throughput failed: quota exceeded. Nothing was scored."
        let failedDOM = try await Self.render(failed, named: "report-failed")
        #expect(failedDOM.contains("quota exceeded") && ReportFixtures.count("mark-point", in: failedDOM) == 0)

        let large = try await Self.render(ReportFixtures.report(prompts: 500), named: "report-500", screenshot: true)
        #expect(ReportFixtures.count("mark-point", in: large) == 500 && large.utf8.count < 2 << 20)
    }
}
