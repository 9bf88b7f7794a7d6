import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Testing

/// The whole workflow on the local backend, through the real daemon: real training, real
/// inference, real BERTScore; the daemon is crashed after the second epoch and resumes.
/// Part of the journald suite because it reads the EPOCH/TRAIN_LOSS/VALIDATION_LOSS fields
/// back from a real journald, and only one journald can run at a time.
extension JournaldTests {
    /// Model calls time out after 10 s, so the timer of a call that answered, were it left
    /// armed, would fire in the quiet seconds the test watches after the workflow.
    static func localConfiguration(_ dir: TemporaryDirectory) -> String {
        DaemonHarness.localRehearsal(in: dir).replacingOccurrences(of: "[engine]\n", with: "[engine]\ninvoke_timeout_seconds = 10\n")
    }

    /// The workflow's report.html, as Chromium shows it, through finetunectl, and in the mail.
    static func checkReport(daemon: DaemonHarness, workflowID: String, scores: ScoreSummary, mail: String) async throws {
        let report = daemon.archive + "/\(workflowID)/report.html"
        let located = try await daemon.ctl(["report", workflowID])
        #expect(located.status == 0 && located.stdout == report + "\n", "\(located.stdout)\(located.stderr)")
        let shown = try await daemon.ctl(["show", workflowID])
        #expect(shown.stdout.contains("  report:   \(report)"), "\(shown.stdout)")
        #expect(
            shown.stdout.split(separator: "\n").contains {
                $0.hasPrefix("  loss:     ") && $0.contains("training, per epoch") && $0.contains("validation")
            },
            "a loss sparkline: \(shown.stdout)")
        guard HeadlessChromium.isInstalled else {
            Issue.record("chromium is missing: make test installs it (scripts/install-test-deps)")
            return
        }
        // The rendered page is kept for people to look at (the README's screenshot is one).
        let page = try await HeadlessChromium().render(file: report, screenshot: try HeadlessChromium.outputDirectory() + "/report-good-set.png")
        #expect(page.console.isEmpty && page.pageRequests.isEmpty, "\(page.console) \(page.pageRequests)")
        #expect(page.dom.contains("class=\"verdict-word\">Kept</p>"))
        #expect(ReportFixtures.count("mark-point", in: page.dom) == scores.prompts, "a point per scored prompt")
        #expect(ReportFixtures.count("mark-bar", in: page.dom) == 10, "a training and a validation bar for each of 5 epochs")
        #expect(ReportFixtures.count("mark-validation", in: page.dom) == 5 && ReportFixtures.count("mark-bucket", in: page.dom) == 10)
        #expect(page.dom.contains("kept</text>") && ReportFixtures.count("example", in: page.dom) >= 5)

        // Python's email package takes the message apart: the HTML body and the attachment.
        let dir = try TemporaryDirectory(prefix: "mailparts")
        defer { dir.remove() }
        let script = """
            import email, sys
            from email import policy
            message = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)
            html = message.get_body(preferencelist=('html',))
            open(sys.argv[2] + '/mail.html', 'w').write(html.get_content())
            for part in message.iter_attachments():
                open(sys.argv[2] + '/' + part.get_filename(), 'wb').write(part.get_payload(decode=True))
            print(message.get_content_type(), message.get_body(preferencelist=('plain',)).get_content_type())
            """
        let parts = try Command.run("/usr/bin/python3", ["-c", script, mail, dir.path])
        #expect(parts.status == 0 && parts.stdout == "multipart/mixed text/plain\n", "\(parts.stdout)\(parts.stderr)")
        #expect(
            FileManager.default.contents(atPath: dir.file("report.html")) == FileManager.default.contents(atPath: report),
            "the attachment is the report")
        let body = try await HeadlessChromium().render(
            file: dir.file("mail.html"), screenshot: try HeadlessChromium.outputDirectory() + "/mail-good-set.png", width: 800, height: 900)
        #expect(body.console.isEmpty && body.pageRequests.isEmpty, "\(body.console) \(body.pageRequests)")
        #expect(!body.dom.contains("<svg") && !body.dom.contains("<img"), "no SVG or image in mail")
        #expect(ReportFixtures.count("bar-f1", in: body.dom) == 2 && ReportFixtures.count("bar-loss", in: body.dom) == 5)
        #expect(body.dom.contains("kept — F1 ") && body.dom.contains("report.html"))
    }

    @Test(
        "local backend, end to end: crashed after epoch 2, the daemon resumes training from there, keeps the better model and mails the scores",
        .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"),
        .timeLimit(.minutes(5)))
    func localWorkflowSurvivesCrashMidTraining() async throws {
        let journald = try JournaldHarness()
        defer { journald.stop() }
        let daemon = try DaemonHarness(configuration: Self.localConfiguration, adapters: ["local"])
        defer { daemon.tearDown() }
        let training = try String(
            contentsOfFile: BuiltProducts.packageRoot.appendingPathComponent("examples/summaries-train.jsonl").path,
            encoding: .utf8)
        let records = training.split(separator: "\n").prefix(150).joined(separator: "\n") + "\n"

        try daemon.start(
            arguments: ["--log-to", "journal"],
            environment: ["FINETUNED_TEST_FAULTS": "abort-after-epoch=2", "SWIFT_BACKTRACE": "enable=no"])
        #expect(await daemon.waitForReady() != nil)
        let firstPID = daemon.pid
        // A sidecar travels with the drop, through the spool into the archive.
        try daemon.directory.write("staging/q4.toml", "force = false\n")
        guard rename(daemon.directory.file("staging/q4.toml"), daemon.inbox + "/summaries/q4.toml") == 0 else { throw POSIXError(.EIO) }
        try daemon.drop(records, as: "q4.jsonl", profile: "summaries")
        #expect(await daemon.waitForExit(timeout: .seconds(120)) != nil, "the fault should abort the daemon after epoch 2")
        let workflow = try #require(try await daemon.waitForWorkflows(in: [.training], dropName: "q4.jsonl", timeout: .seconds(5)).first)
        // Training runs in a model worker process, which logs under the daemon's identifier.
        let firstRun = try journald.entries(matching: ["WORKFLOW_ID=\(workflow.id)"])
        let firstEpochs = firstRun.compactMap { $0["EPOCH"] as? String }
        #expect(firstEpochs == ["1", "2"], "\(firstEpochs)")
        #expect(
            firstRun.filter { $0["EPOCH"] != nil }.allSatisfy {
                Double($0["TRAIN_LOSS"] as? String ?? "") != nil && Double($0["VALIDATION_LOSS"] as? String ?? "") != nil
            })
        let trainers = Set(firstRun.filter { $0["EPOCH"] != nil }.compactMap { $0["_PID"] as? String })
        #expect(trainers.count == 1 && !trainers.contains("\(firstPID)"), "trained by \(trainers), the daemon is \(firstPID)")
        #expect(
            firstRun.filter { $0["EPOCH"] != nil }.allSatisfy {
                $0["_COMM"] as? String == "finetuned-model" && $0["SYSLOG_IDENTIFIER"] as? String == "finetuned"
            })
        #expect(firstRun.contains { $0["_PID"] as? String == "\(firstPID)" && $0["STAGE"] as? String == "training" }, "the daemon logs its stages")
        let firstRunEnd = Date()

        // Each resumed epoch is held 0.7 s on the daemon's side, so the three left still train
        // when `watch` connects: on an idle machine they once ended before it did.
        try daemon.start(
            arguments: ["--log-to", "journal"], environment: ["SWIFT_BACKTRACE": "enable=no", "FINETUNED_TEST_FAULTS": "epoch-delay-ms=700"])
        #expect(await daemon.waitForReady() != nil)
        // `finetunectl watch` follows the resumed run to its end (plain lines: not a terminal).
        async let watched = daemon.ctl(["watch", workflow.id, "--interval", "0.1"])
        let done = try #require(try await daemon.waitForWorkflows(in: [.done, .failed], dropName: "q4.jsonl", timeout: .seconds(180)).first)
        #expect(done.stage == .done, "\(done.failure ?? "")")
        let scores = try #require(done.context.scores)
        #expect(done.context.keep == true && scores.meanCustomF1 > scores.meanBaseF1, "\(scores)")
        #expect(scores.prompts == 30)

        let secondRun = try await journald.waitForEntries(matching: ["_PID=\(daemon.pid)", "WORKFLOW_ID=\(workflow.id)", "STAGE=done"])
        #expect(!secondRun.isEmpty)
        let resumed = try journald.entries(matching: ["WORKFLOW_ID=\(workflow.id)"]).filter {
            (Double($0["__REALTIME_TIMESTAMP"] as? String ?? "") ?? 0) / 1e6 > firstRunEnd.timeIntervalSince1970
        }
        #expect(resumed.compactMap { $0["EPOCH"] as? String } == ["3", "4", "5"], "training went on after epoch 2 and did not start over")
        #expect(resumed.contains { ($0["MESSAGE"] as? String)?.contains("resuming after epoch 2 of 5") == true })
        #expect(!resumed.contains { ($0["MESSAGE"] as? String)?.contains("records featurised") == true }, "features were reused")

        let watch = try await watched
        #expect(watch.status == 0, "\(watch.stderr)")
        let lines = watch.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains(" training | InProgress: Training: epoch ") }, "\(lines)")
        #expect(lines.contains { $0.contains("answered: base ") && $0.contains("/30, custom ") })
        #expect(lines.last?.contains(" done | ") == true && lines.last?.contains("over 30 prompts: keep") == true, "\(lines.last ?? "")")

        #expect(try String(contentsOfFile: daemon.archive + "/\(workflow.id)/sidecar.toml", encoding: .utf8) == "force = false\n")
        #expect(!FileManager.default.fileExists(atPath: daemon.spool + "/\(workflow.id).toml"))

        // One job, its metrics shaped like Bedrock's with every epoch once.
        let jobs = try FileManager.default.contentsOfDirectory(atPath: daemon.directory.file("state/local/local/jobs"))
        #expect(jobs.count == 1)
        let metrics = try String(contentsOfFile: daemon.directory.file("state/local/local/jobs/\(jobs[0])/validation_metrics.csv"), encoding: .utf8)
        #expect(metrics.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[1] } == ["1", "2", "3", "4", "5"])

        // The notification reached the Maildir whole, with the scores.
        let mail = try FileManager.default.contentsOfDirectory(atPath: daemon.directory.file("mail/new"))
        #expect(mail.count == 1)
        let message = try String(contentsOfFile: daemon.directory.file("mail/new/\(mail[0])"), encoding: .utf8)
        // The subject has an em dash, so it travels as RFC 2047 encoded words.
        let subject = message.components(separatedBy: "\r\n").drop { !$0.hasPrefix("Subject: ") }.prefix {
            $0.hasPrefix("Subject: ") || $0.hasPrefix(" ")
        }
        .map { $0.replacingOccurrences(of: "Subject: ", with: "").trimmingCharacters(in: .whitespaces) }
        .map { String(decoding: Data(base64Encoded: String($0.dropFirst(10).dropLast(2))) ?? Data(), as: UTF8.self) }.joined()
        #expect(subject.hasPrefix("finetuned: summaries/q4.jsonl kept — F1 "), "\(subject)")
        #expect(message.contains(String(format: "%.4f", scores.meanCustomF1)) && message.contains("multipart/alternative"))
        // The training losses, read back from the job, epoch by epoch.
        #expect(message.contains("Training loss per epoch") && message.contains("epoch 1: train ") && message.contains("epoch 5: train "))
        #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.directory.file("mail/tmp")).isEmpty)
        try await Self.checkReport(daemon: daemon, workflowID: workflow.id, scores: scores, mail: daemon.directory.file("mail/new/\(mail[0])"))

        // The model never entered the daemon: its weights, OpenBLAS and the encoder's work
        // lived in model workers, and with nothing in flight the last of them has ended and
        // been reaped (no child left, not even a zombie). None of the daemon's threads wakes.
        #expect(await eventually { daemon.children().isEmpty }, "children of the idle daemon: \(daemon.children())")
        let mapped = daemon.mappedFiles()
        #expect(mapped.contains { $0.contains("libsqlite3") }, "the maps were read: \(mapped)")
        #expect(
            !mapped.contains { $0.hasSuffix("model.safetensors") || $0.contains("openblas") || $0.contains("libgfortran") },
            "the daemon mapped the model or OpenBLAS: \(mapped)")
        #expect(!mapped.contains { $0.contains("libcrypto") || $0.contains("libssl") }, "OpenSSL without TLS: \(mapped)")
        // Not even for the deadlines of the model calls, long answered (10 s after each).
        try await Task.sleep(for: .seconds(1))
        let wakeups = await daemon.wakeups(over: .seconds(10))
        #expect(wakeups.isEmpty, "threads that woke while the daemon was idle: \(wakeups)")
    }
}
