import AdapterKit
import FinetunedAdapters
import FinetunedTestSupport
import Foundation
import Testing

/// Nova's data rules (../shared/BEDROCK-2026.md §1.2–1.4) through the real plugin and the real
/// `finetunectl validate`, as an operator checks a file before dropping it.
@Suite("Nova validation")
struct NovaValidationTests {
    static let lite = "amazon.nova-lite-v1:0:300k", micro = "amazon.nova-micro-v1:0:128k", nova2 = "amazon.nova-2-lite-v1:0:256k"

    /// A valid record with `user` as the user turn's content blocks.
    static func record(
        user: String = #"[{"text": "Summarize: the export fails on Fridays."}]"#,
        assistant: String = #"[{"text": "Exports fail on Fridays."}]"#, system: String? = nil, version: String = "bedrock-conversation-2024"
    ) -> String {
        let systemPart = system.map { #""system": [{"text": "\#($0)"}], "# } ?? ""
        return
            #"{"schemaVersion": "\#(version)", \#(systemPart)"messages": [{"role": "user", "content": \#(user)}, {"role": "assistant", "content": \#(assistant)}]}"#
    }

    static func image(_ format: String = "png", uri: String = "s3://training-data/images/a.png") -> String {
        #"{"image": {"format": "\#(format)", "source": {"s3Location": {"uri": "\#(uri)", "bucketOwner": "123456789012"}}}}"#
    }

    static func video(_ format: String = "mp4") -> String {
        #"{"video": {"format": "\#(format)", "source": {"s3Location": {"uri": "s3://training-data/v/a.\#(format)"}}}}"#
    }

    /// Runs `finetunectl validate --json` with the built adapters; returns (exit, problems as "line:column kind message").
    static func validate(_ lines: [String], model: String, extra: [String] = []) throws -> (Int32, [String], String) {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try BuiltProducts.installAdapters(["nova"], into: dir.file("adapters"))
        let file = try dir.write("train.jsonl", lines.joined(separator: "\n") + "\n")
        let result = try Command.run(
            BuiltProducts.executable("finetunectl"),
            [
                "validate", file, "--adapter", "nova", "--base-model", model, "--adapter-dir", dir.file("adapters"), "--json",
            ] + extra)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let problems = (object?["problems"] as? [[String: Any]] ?? []).map {
            "\($0["line"] as? Int ?? -1):\($0["column"] as? Int ?? -1) \($0["severity"] as? String ?? "") \($0["kind"] as? String ?? "") \($0["message"] as? String ?? "")"
        }
        return (result.status, problems, result.stderr)
    }

    static func padding(_ n: Int) -> [String] {
        (0..<n).map {
            record(user: #"[{"text": "Summarize ticket \#($0): the export fails."}]"#, assistant: #"[{"text": "Export fails (\#($0))."}]"#)
        }
    }

    @Test("a clean file passes; any schemaVersion string is taken; the record limits are Nova's")
    func clean() throws {
        let (status, problems, stderr) = try Self.validate(Self.padding(10) + [Self.record(version: "anything-goes")], model: Self.lite)
        #expect(status == 0, "\(problems) \(stderr)")
        let (few, fewProblems, _) = try Self.validate(Self.padding(7), model: Self.lite)
        #expect(few == 1 && fewProblems.contains { $0.contains("needs at least 8 training records") }, "\(fewProblems)")
        let (nova2, nova2Problems, _) = try Self.validate(Self.padding(150), model: Self.nova2)
        #expect(nova2 == 1 && nova2Problems.contains { $0.contains("needs at least 200 training records") }, "\(nova2Problems)")
    }

    @Test("reserved strings fail at their line and column, in system and user text, not in answers")
    func reserved() throws {
        let lines =
            Self.padding(8) + [
                Self.record(user: #"[{"text": "Summarize this. User: hello"}]"#),
                Self.record(system: "You are helpful. [EOS]"),
                Self.record(assistant: #"[{"text": "Assistant: an answer may say it"}]"#),
                Self.record(user: #"[{"text": "escaped \u003cimage> tag"}]"#),
            ]
        let (status, problems, _) = try Self.validate(lines, model: Self.lite)
        #expect(status == 1)
        let reserved = problems.filter { $0.contains("reserved_string") }
        // Line 9: the text starts at column 78 of the line; "User:" 17 characters into it.
        let line9 = Self.record(user: #"[{"text": "Summarize this. User: hello"}]"#)
        let column = Array(line9.utf8).firstIndex(of: UInt8(ascii: "U"))! + 1
        #expect(reserved.contains { $0.hasPrefix("9:\(column) error reserved_string \"User:\" is reserved") }, "\(reserved)")
        #expect(reserved.contains { $0.hasPrefix("10:") && $0.contains("\"[EOS]\"") }, "\(reserved)")
        #expect(!reserved.contains { $0.hasPrefix("11:") }, "assistant text may hold them")
        #expect(reserved.contains { $0.hasPrefix("12:") && $0.contains("\"<image>\"") }, "found through escapes too: \(reserved)")
    }

    @Test("role order: only user and assistant, user first, assistant last, alternating")
    func roles() throws {
        let lines =
            Self.padding(8) + [
                #"{"schemaVersion": "x", "messages": [{"role": "assistant", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": "b"}]}]}"#,
                #"{"schemaVersion": "x", "messages": [{"role": "user", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": "b"}]}, {"role": "assistant", "content": [{"text": "c"}]}]}"#,
                #"{"schemaVersion": "x", "messages": [{"role": "system", "content": [{"text": "a"}]}, {"role": "assistant", "content": [{"text": "c"}]}]}"#,
            ]
        let (status, problems, _) = try Self.validate(lines, model: Self.micro)
        #expect(status == 1)
        let order = problems.filter { $0.contains("role_order") }
        #expect(order.contains { $0.hasPrefix("9:") && $0.contains("conversations start with \"user\"") })
        #expect(order.contains { $0.hasPrefix("9:") && $0.contains("conversations end with \"assistant\"") })
        #expect(order.contains { $0.hasPrefix("10:") && $0.contains("must alternate") })
        #expect(order.contains { $0.hasPrefix("11:") && $0.contains("expected \"user\" or \"assistant\"") })
    }

    @Test("media: none for Micro; formats, counts, user turns only, one bucket and one kind per file for Lite")
    func media() throws {
        let micro = try Self.validate(Self.padding(8) + [Self.record(user: "[\(Self.image()), {\"text\": \"Describe it.\"}]")], model: Self.micro)
        #expect(micro.0 == 1 && micro.1.contains { $0.hasPrefix("9:") && $0.contains("is an image; this model takes text only") }, "\(micro.1)")

        let eleven = "[" + (0..<11).map { _ in Self.image() }.joined(separator: ", ") + #", {"text": "Describe them."}]"#
        let lines =
            Self.padding(8) + [
                Self.record(user: "[\(Self.image("bmp")), {\"text\": \"Describe it.\"}]"),
                Self.record(user: eleven),
                Self.record(assistant: "[\(Self.image())]"),
                Self.record(user: "[\(Self.image(uri: "s3://someone-else/a.png")), {\"text\": \"Describe it.\"}]"),
                Self.record(user: #"[{"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}, {"text": "Describe it."}]"#),
                Self.record(user: "[\(Self.video()), {\"text\": \"What happens?\"}]"),
            ]
        let (status, problems, _) = try Self.validate(lines, model: Self.lite, extra: ["--data-bucket", "training-data"])
        #expect(status == 1)
        let media = problems.filter { $0.contains(" media ") }
        #expect(media.contains { $0.hasPrefix("9:") && $0.contains("format is \"bmp\"; images must be png, jpeg, gif, webp") }, "\(media)")
        #expect(media.contains { $0.hasPrefix("10:") && $0.contains("has 11 images; at most 10 per record") })
        #expect(media.contains { $0.hasPrefix("11:") && $0.contains("is an assistant turn; images and videos belong in user turns") })
        #expect(media.contains { $0.hasPrefix("12:") && $0.contains("is not in the training data's bucket 'training-data'") })
        #expect(media.contains { $0.hasPrefix("13:") && $0.contains("needs source.s3Location.uri") })
        #expect(media.contains { $0.hasPrefix("14:0") && $0.contains("has images (from line 9) and videos (from line 14)") }, "\(media)")
    }

    @Test("Nova 2 Lite takes reasoningContent in assistant turns and no validation set")
    func nova2() throws {
        let reasoning = #"[{"reasoningContent": {"reasoningText": {"text": "Fridays are batch days."}}}, {"text": "Exports fail on Fridays."}]"#
        let ok = try Self.validate(Self.padding(200) + [Self.record(assistant: reasoning)], model: Self.nova2)
        #expect(ok.0 == 0, "\(ok.1)")
        let misplaced = try Self.validate(Self.padding(200) + [Self.record(user: reasoning)], model: Self.nova2)
        #expect(misplaced.1.contains { $0.hasPrefix("201:") && $0.contains("reasoningContent belongs in assistant turns") }, "\(misplaced.1)")
        let empty = try Self.validate(Self.padding(200) + [Self.record(assistant: #"[{"reasoningContent": {}}, {"text": "x"}]"#)], model: Self.nova2)
        #expect(empty.1.contains { $0.hasPrefix("201:") && $0.contains("needs {\"reasoningText\"") }, "\(empty.1)")
    }

    @Test("warmup steps far from the documented advice (records ÷ 160 for Lite) are a warning, not a refusal")
    func warmupAdvice() throws {
        let (status, problems, _) = try Self.validate(Self.padding(800), model: Self.lite, extra: ["--set", "learningRateWarmupSteps=20"])
        #expect(status == 0)
        #expect(
            problems.contains {
                $0.contains("warning hyperparameter learningRateWarmupSteps is 20; for 800 records the documentation advises about 5 (records ÷ 160)")
            },
            "\(problems)")
        let fine = try Self.validate(Self.padding(800), model: Self.lite, extra: ["--set", "learningRateWarmupSteps=5"])
        #expect(!fine.1.contains { $0.contains("learningRateWarmupSteps") })
        let over = try Self.validate(Self.padding(800), model: Self.lite, extra: ["--set", "learningRateWarmupSteps=50"])
        #expect(over.0 == 1 && over.1.contains { $0.contains("above the maximum 20") }, "the stricter of the two documented maxima: \(over.1)")
    }

    @Test("distillation: answers may be left out; Meta's students take one turn per record, Nova's several")
    func distillation() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try BuiltProducts.installAdapters(["nova", "llama"], into: dir.file("adapters"))
        let config = try dir.write(
            "finetuned.toml",
            """
            [adapters]
            directories = ["\(dir.file("adapters"))"]
            [backends.cloud]
            kind = "bedrock"
            role_arn = "arn:aws:iam::123456789012:role/finetuned"
            bucket = "finetuned-data"

            [profiles.nova]
            adapter = "nova"
            base_model = "amazon.nova-lite-v1:0:300k"
            backend = "cloud"
            customization = "distillation"
            teacher_model = "amazon.nova-pro-v1:0"

            [profiles.llama]
            adapter = "llama"
            base_model = "meta.llama3-2-1b-instruct-v1:0:128k"
            backend = "cloud"
            customization = "distillation"
            teacher_model = "meta.llama3-3-70b-instruct-v1:0"
            allow_end_of_life = true
            """)
        let single =
            #"{"schemaVersion": "bedrock-conversation-2024", "messages": [{"role": "user", "content": [{"text": "Summarize: the export fails."}]}]}"#
        let multi =
            #"{"schemaVersion": "bedrock-conversation-2024", "messages": [{"role": "user", "content": [{"text": "Summarize: a."}]}, {"role": "assistant", "content": [{"text": "A."}]}, {"role": "user", "content": [{"text": "Shorter?"}]}]}"#
        let lines = (0..<100).map { single.replacingOccurrences(of: "fails.", with: "fails (\($0)).") } + [multi]
        let file = try dir.write("prompts.jsonl", lines.joined(separator: "\n") + "\n")
        let ctl = BuiltProducts.executable("finetunectl")
        let nova = try Command.run(ctl, ["validate", file, "--profile", "nova", "--config", config])
        #expect(nova.status == 0, "Nova takes user-only and multi-turn prompts: \(nova.stdout)\(nova.stderr)")
        let llama = try Command.run(ctl, ["validate", file, "--profile", "llama", "--config", config])
        #expect(
            llama.status == 1 && llama.stdout.contains("prompts.jsonl:101:") && llama.stdout.contains("takes single-turn records"),
            "\(llama.stdout)\(llama.stderr)")
        #expect(!llama.stdout.contains("prompts.jsonl:1:"), "a record without an answer is fine")
    }

    @Test("the plugin declares Nova's models with their serving facts, read through dlopen")
    func listing() throws {
        let loaded = try LoadedAdapter.load(path: BuiltProducts.adapterLibrary("nova")).description
        #expect(
            loaded.models.map(\.id) == [
                "amazon.nova-micro-v1:0:128k", "amazon.nova-lite-v1:0:300k", "amazon.nova-pro-v1:0:300k", "amazon.nova-2-lite-v1:0:256k",
            ])
        #expect(loaded.models.allSatisfy { $0.serving.onDemand && $0.serving.invokeAPI == .converse })
        #expect(loaded.model(Self.nova2)?.serving.validationData == false)
        #expect(loaded.model(Self.lite)?.serving.teachers == ["amazon.nova-pro-v1:0", "amazon.nova-premier-v1:0"])
        #expect(loaded.model(Self.micro)?.record.conversation?.media == nil)
    }
}
