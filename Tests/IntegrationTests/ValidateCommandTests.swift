import AdapterKit
import FinetunedAdapters
import FinetunedTestSupport
import FinetunedValidation
import Foundation
import Synchronization
import Testing

/// `finetunectl validate`: the same checks as the daemon, from a shell.
@Suite("finetunectl validate")
struct ValidateCommandTests {
    func run(_ arguments: [String]) throws -> CommandResult {
        try Command.run(BuiltProducts.executable("finetunectl"), ["validate"] + arguments)
    }

    @Test("exit 0 for a valid file, 1 for an invalid one, 2 for usage errors; --json for machines")
    func exitCodes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try BuiltProducts.installAdapters(["cohere", "local"], into: dir.file("adapters"))
        let config = try dir.write(
            "finetuned.toml",
            """
            [adapters]
            directories = ["\(dir.file("adapters"))"]
            [backends.cloud]
            kind = "bedrock"
            role_arn = "arn:aws:iam::123456789012:role/finetuned"
            bucket = "finetuned-data"
            [profiles.summaries]
            adapter = "cohere"
            base_model = "cohere.command-text-v14:7:4k"
            backend = "cloud"
            # Past its end of life (2025-08-12): validating is free, paying needs a yes.
            allow_end_of_life = true
            [profiles.summaries.hyperparameters]
            epochCount = 2
            """)
        let good = try dir.write("good.jsonl", (1...40).map { #"{"prompt":"p\#($0)","completion":"c"}"# + "\n" }.joined())
        let bad = try dir.write("bad.jsonl", (1...40).map { #"{"prompt":"p\#($0)","completion":"c"}"# + "\n" }.joined() + "{\"prompt\":\"x\"}\n")

        let ok = try run([good, "--profile", "summaries", "--config", config])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.hasPrefix("good.jsonl: valid: 0 errors, 0 warnings (training file for cohere.command-text-v14:7:4k)"))
        #expect(ok.stdout.contains("for 2 epochs"))

        let refused = try run([bad, "--profile", "summaries", "--config", config])
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("bad.jsonl:41: error: missing required field \"completion\""))

        let overridden = try run([good, "--profile", "summaries", "--config", config, "--set", "epochCount=500"])
        #expect(overridden.status == 1)
        #expect(overridden.stdout.contains("hyperparameter 'epochCount' = 500: 500 is above the maximum 100"))

        let json = try run([
            bad, "--adapter", "cohere", "--base-model", "cohere.command-text-v14:7:4k", "--adapter-dir", dir.file("adapters"), "--json",
        ])
        #expect(json.status == 1)
        let report = try JSONDecoder().decode(ValidationReport.self, from: Data(json.stdout.utf8))
        #expect(report.records == 41 && report.errorCount == 1)

        #expect(try run([good]).status == 2)
        #expect(try run([good, "--profile", "nope", "--config", config]).status == 2)
        #expect(try run([good, "--adapter", "cohere", "--base-model", "x", "--adapter-dir", dir.file("adapters")]).status == 2)
    }

    @Test("a relative --adapter-dir is taken from the working directory; a refusal names the directory")
    func relativeAdapterDirectory() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        chmod(dir.path, 0o755)
        try BuiltProducts.installAdapters(["cohere"], into: dir.file("build/release"))
        try dir.write("good.jsonl", (1...40).map { #"{"prompt":"p\#($0)","completion":"c"}"# + "\n" }.joined())
        let arguments = ["good.jsonl", "--adapter", "cohere", "--base-model", "cohere.command-text-v14:7:4k"]
        let ok = try Command.run(
            BuiltProducts.executable("finetunectl"), ["validate"] + arguments + ["--adapter-dir", "build/release"],
            currentDirectory: dir.path)
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.hasPrefix("good.jsonl: valid"), "\(ok.stdout)")

        // The same, with the relative path's parent writable by its group: refused, and the
        // message names the directory in full (it used to say "cannot stat directory ;").
        chmod(dir.file("build"), 0o775)
        defer { chmod(dir.file("build"), 0o755) }
        let refused = try Command.run(
            BuiltProducts.executable("finetunectl"), ["validate"] + arguments + ["--adapter-dir", "./build/release/"],
            currentDirectory: dir.path)
        #expect(refused.status == 2)
        #expect(
            refused.stdout.contains("directory \(dir.file("build")) is writable by its group (mode 775)")
                || refused.stderr.contains("directory \(dir.file("build")) is writable by its group (mode 775)"),
            "\(refused.stdout)\(refused.stderr)")
    }
}
