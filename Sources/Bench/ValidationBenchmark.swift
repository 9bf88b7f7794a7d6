import FinetunedTestSupport
import Foundation

/// Validation throughput on a ≥100 MB prompt/completion file of 1–3 KB records: our
/// `finetunectl validate` against a Python baseline doing the same checks with json.loads,
/// both whole processes, on the same file in the same run. The model is Titan Text Express
/// at batch size 1 (4,096 tokens in + out, no record-count limit, 1 GB files), since 100 MB
/// of records is more than Cohere's 10,000-record limit allows.
enum ValidationBenchmark {
    static let python = """
        import json, math, sys
        path = sys.argv[1]
        fields = ("prompt", "completion")
        errors = records = 0
        with open(path, "rb") as f:
            for number, raw in enumerate(f, 1):
                line = raw.rstrip(b"\\r\\n")
                if not line.strip():
                    errors += 1
                    continue
                records += 1
                try:
                    obj = json.loads(line)
                except ValueError:
                    errors += 1
                    continue
                if not isinstance(obj, dict):
                    errors += 1
                    continue
                characters = 0
                for name in fields:
                    value = obj.get(name)
                    if not isinstance(value, str) or not value.strip():
                        errors += 1
                    else:
                        characters += len(value)
                if math.ceil(characters / 6) > 4096:
                    errors += 1
                unknown = [key for key in obj if key not in fields]
        if records == 0:
            errors += 1
        sys.exit(1 if errors else 0)
        """

    static func run(megabytes: Int) throws {
        let dir = try TemporaryDirectory(prefix: "bench")
        defer { dir.remove() }
        let path = dir.file("train.jsonl")
        let bytes = try generate(path: path, megabytes: megabytes)
        let adapters = dir.file("adapters")
        try BuiltProducts.installAdapters(["titan"], into: adapters)
        let size = Double(bytes) / 1_048_576
        print("validation of a \(String(format: "%.0f", size)) MiB prompt/completion file (1–3 KB records), whole process:")

        let ours = try ProcessMeasurement.run(
            BuiltProducts.executable("finetunectl"),
            [
                "validate", path, "--adapter", "titan", "--base-model", "amazon.titan-text-express-v1:0:8k", "--adapter-dir", adapters,
            ])
        guard ours.status == 0 else {
            print("  finetunectl validate failed (exit \(ours.status))")
            return
        }
        let ourRate = size / ours.seconds
        print(String(format: "  finetuned:       %7.3f s  %8.1f MiB/s  peak RSS %6.1f MiB", ours.seconds, ourRate, ours.peakRSSMegabytes))
        if let python3 = Command.which("python3") {
            let theirs = try ProcessMeasurement.run(python3, ["-c", python, path])
            if theirs.status == 0 {
                let rate = size / theirs.seconds
                print(String(format: "  python json:     %7.3f s  %8.1f MiB/s  peak RSS %6.1f MiB", theirs.seconds, rate, theirs.peakRSSMegabytes))
                print(String(format: "  finetuned is %.1fx as fast as the Python baseline (goal: at least 5x)", ourRate / rate))
            } else {
                print("  python json:     failed (exit \(theirs.status))")
            }
        }
        if let jq = Command.which("jq") {
            let theirs = try ProcessMeasurement.run(jq, ["-c", "select((.prompt|type) != \"string\" or (.completion|type) != \"string\")", path])
            print(
                String(
                    format: "  jq (types only): %7.3f s  %8.1f MiB/s  peak RSS %6.1f MiB", theirs.seconds, size / theirs.seconds,
                    theirs.peakRSSMegabytes))
        }
    }

    /// Deterministic English-like records: words from a small vocabulary with about one
    /// non-ASCII word in 25 (café, naïve, —, 会议), a quoted word in 50 and a line break
    /// (`\n`) ending every sentence of about 15 words; prompts of 0.8–2.4 KB and completions
    /// of 0.2–0.6 KB.
    static func generate(path: String, megabytes: Int) throws -> Int {
        let words = [
            "the", "quarterly", "revenue", "report", "shows", "growth", "in", "sales", "forecast", "team",
            "agreed", "to", "ship", "release", "on", "Friday", "customers", "asked", "for", "support",
            "incident", "latency", "dashboard", "migration", "cost", "per", "unit", "rose", "by", "4%",
            "and", "of", "a", "with", "owner", "review", "next", "week", "priority", "action",
        ]
        let rare = ["café", "naïve", "—", "résumé", "会议", "\\\"export\\\""]
        var state: UInt64 = 0x2545F4914F6CDD1D
        func next() -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % 1_000_000)
        }
        func text(_ length: Int) -> String {
            var out = ""
            while out.utf8.count < length {
                let roll = next() % 100
                out += roll < 4 ? rare[next() % 5] : roll < 6 ? rare[5] : words[next() % words.count]
                out += next() % 15 == 0 ? ".\\n" : " "
            }
            return out
        }
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var written = 0
        var chunk = ""
        while written < megabytes << 20 {
            let line = #"{"prompt":"\#(text(800 + next() % 1600))","completion":"\#(text(200 + next() % 400))"}"# + "\n"
            chunk += line
            written += line.utf8.count
            if chunk.utf8.count > 1 << 20 {
                try handle.write(contentsOf: Data(chunk.utf8))
                chunk = ""
            }
        }
        try handle.write(contentsOf: Data(chunk.utf8))
        return written
    }
}
