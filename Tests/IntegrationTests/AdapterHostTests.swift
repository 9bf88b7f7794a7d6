import AdapterKit
import FinetunedAdapters
import FinetunedConfig
import FinetunedControl
import FinetunedDaemon
import FinetunedTestSupport
import Foundation
import Testing

/// The host side of the ABI: an adapter written in C, and every reason to refuse a plugin.
@Suite("Adapter host")
struct AdapterHostTests {
    @Test("an adapter written in C against the public header loads and runs a profile end to end")
    func cAdapter() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try CAdapterBuilder.build(into: dir.file("adapters"))
        let set = await AdapterLoader().scan(directories: [dir.file("adapters")])
        #expect(set.refusals.isEmpty, "\(set.refusals)")
        let example = try #require(set.adapters["example"])
        #expect(example.description.summary == "An adapter written in C.")
        #expect(example.hasRecordCheck)
        let model = try #require(example.description.model("example.text-v1:0"))
        #expect(model.prices == Prices(asOf: "2026-11-01", currency: "USD", trainingPerThousandTokens: 0.004, throughputPerModelUnitHour: 7.5))
        #expect(model.limits.charactersPerToken == 4)

        // A profile through it: configuration, adapter, model and hyperparameters together.
        let config = try ConfigurationLoader.parse(
            text: """
                [backends.cloud]
                kind = "bedrock"
                role_arn = "arn:aws:iam::123456789012:role/finetuned"
                bucket = "finetuned-data"
                [profiles.c]
                adapter = "example"
                base_model = "example.text-v1:0"
                backend = "cloud"
                [profiles.c.hyperparameters]
                epochCount = 3
                """, file: "finetuned.toml")
        let check = ProfileCheck.check(config, adapters: set, today: "2026-11-28")
        #expect(check.errors.isEmpty, "\(check.errors)")
        let profile = try #require(check.profiles["c"])
        #expect(profile.hyperparameters == ["epochCount": "3", "learningRate": "0.001"])
        #expect(profile.paidJobRefusal(today: "2026-11-28") == nil)

        let body = try example.buildInvokeRequest(InvokeRequest(model: model.id, prompt: "Say \"hi\"\nplease"))
        #expect(try JSONValue(parsing: body) == ["input": "Say \"hi\"\nplease", "max_new_tokens": 256])
        let result = try example.parseInvokeResponse(model: model.id, body: #"{"output":"hi \"there\"","finish":"limit"}"#)
        #expect(result == InvokeResult(text: "hi \"there\"", stopReason: .length))
        #expect(throws: AdapterCallError.self) { try example.parseInvokeResponse(model: model.id, body: #"{"nothing":1}"#) }
        #expect(
            try example.checkRecord(model: model.id, record: ["prompt": "lorem ipsum", "completion": "x"])
                == [RecordProblem(.warning, "the record contains placeholder text (lorem ipsum)")])
        #expect(try example.checkRecord(model: model.id, record: ["prompt": "fine", "completion": "x"]).isEmpty)
    }

    @Test("each bad plugin is refused with its own reason, and the good ones keep working")
    func refusals() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let good = dir.file("good"), bad = dir.file("bad"), writable = dir.file("writable")
        try BuiltProducts.installAdapters(["cohere", "titan"], into: good)
        try CAdapterBuilder.build(into: bad, defines: ["EXAMPLE_ABI_MAJOR=99"], fileName: "libfinetuned-adapter-future.so")
        try CAdapterBuilder.build(into: bad, defines: ["EXAMPLE_NO_ENTRY"], fileName: "libfinetuned-adapter-noentry.so")
        try CAdapterBuilder.build(into: bad, defines: ["EXAMPLE_BROKEN_DESCRIBE"], fileName: "libfinetuned-adapter-broken.so")
        try CAdapterBuilder.build(into: bad, fileName: "libfinetuned-adapter-worldwritable.so")
        chmod(bad + "/libfinetuned-adapter-worldwritable.so", 0o666)
        try Data("not an ELF file".utf8).write(to: URL(fileURLWithPath: bad + "/libfinetuned-adapter-garbage.so"))
        chmod(bad + "/libfinetuned-adapter-garbage.so", 0o644)
        try BuiltProducts.installAdapters(["cohere"], into: bad + "/again")
        try CAdapterBuilder.build(into: writable)
        chmod(writable, 0o777)

        let set = await AdapterLoader().scan(directories: [good, bad, bad + "/again", writable])
        #expect(set.names == ["cohere", "titan"])
        let reasons = Dictionary(set.refusals.map { (($0.path as NSString).lastPathComponent, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(reasons["libfinetuned-adapter-future.so"] == .abiMismatch(path: bad + "/libfinetuned-adapter-future.so", found: 99, expected: 1))
        #expect(reasons["libfinetuned-adapter-noentry.so"] == .missingEntry(path: bad + "/libfinetuned-adapter-noentry.so"))
        #expect(
            reasons["libfinetuned-adapter-broken.so"]
                == .invalidDescription(
                    path: bad + "/libfinetuned-adapter-broken.so", reason: "models[0].inference_id: is required"))
        #expect(
            reasons["libfinetuned-adapter-worldwritable.so"]
                == .unsafeFile(
                    path: bad + "/libfinetuned-adapter-worldwritable.so", reason: "the file is writable by anyone (mode 666)"))
        if case .cannotOpen(_, let reason) = reasons["libfinetuned-adapter-garbage.so"] {
            #expect(reason.contains("invalid ELF header") || reason.contains("file too short"), "\(reason)")
        } else {
            Issue.record("garbage file: \(String(describing: reasons["libfinetuned-adapter-garbage.so"]))")
        }
        #expect(
            reasons["libfinetuned-adapter-cohere.so"]
                == .duplicateName(
                    path: bad + "/again/libfinetuned-adapter-cohere.so", name: "cohere", loadedFrom: good + "/libfinetuned-adapter-cohere.so"))
        #expect(
            reasons["libfinetuned-adapter-example.so"]
                == .unsafeFile(
                    path: writable + "/libfinetuned-adapter-example.so", reason: "directory \(writable) is writable by anyone (mode 777)"))
        // Every refusal says what to do, in words a person can act on.
        #expect(set.refusals.map(\.description).allSatisfy { $0.hasPrefix("refusing adapter ") || $0.hasPrefix("cannot load adapter ") })
        #expect(set.refusals.count == 7)
        // The good adapters answer as usual.
        #expect(
            try set.adapters["cohere"]!.buildInvokeRequest(InvokeRequest(model: "cohere.command-text-v14:7:4k", prompt: "x")) == #"{"prompt":"x"}"#)
    }

    @Test("the shipped plugins export their entry point and nothing else (AdapterKit stays inside each)")
    func shippedExports() throws {
        for name in ["cohere", "llama", "titan", "local"] {
            let library = BuiltProducts.adapterLibrary(name)
            let symbols = try Command.run("/usr/bin/nm", ["--dynamic", "--defined-only", "--format=just-symbols", library])
            #expect(symbols.status == 0, "\(symbols.stderr)")
            // The linker's own markers of the image's extent are not code.
            let exported = symbols.stdout.split(separator: "\n").filter { !["_edata", "_end", "__bss_start"].contains($0) }
            #expect(exported == ["finetuned_adapter_entry"], "\(name) exports \(exported.count) symbols: \(exported.prefix(5))")
            // Never closed: the Swift runtime keeps pointers into a loaded image's metadata.
            let handle = try #require(dlopen(library, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE), "\(String(cString: dlerror()))")
            #expect(dlsym(handle, "finetuned_adapter_entry") != nil)
        }
    }

    @Test("a file owned by another user is refused")
    func foreignOwner() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try CAdapterBuilder.build(into: dir.file("adapters"))
        chown(path, 65534, 65534)
        #expect(PluginFileSecurity.problem(with: path) == "the file is owned by uid 65534, not by root or the daemon's user")
        #expect(PluginFileSecurity.problem(with: path, trustedUID: 65534) == nil)
    }

    @Test("profiles are checked against the adapters: unknown adapter, unknown model, bad hyperparameters, end of life")
    func profileCheck() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try BuiltProducts.installAdapters(["cohere", "llama"], into: dir.file("adapters"))
        let set = await AdapterLoader().scan(directories: [dir.file("adapters")])
        let config = try ConfigurationLoader.parse(
            text: """
                [backends.cloud]
                kind = "bedrock"
                role_arn = "arn:aws:iam::123456789012:role/finetuned"
                bucket = "finetuned-data"
                [backends.here]
                kind = "local"

                [profiles.a]
                adapter = "cohre"
                base_model = "x"
                backend = "cloud"

                [profiles.b]
                adapter = "cohere"
                base_model = "cohere.command-lite-text-v14:7:4k"
                backend = "cloud"

                [profiles.c]
                adapter = "llama"
                base_model = "meta.llama3-1-8b-instruct-v1:0:128k"
                backend = "cloud"
                [profiles.c.hyperparameters]
                batchSize = 2

                [profiles.d]
                adapter = "cohere"
                base_model = "cohere.command-light-text-v14:7:4k"
                backend = "cloud"

                [profiles.e]
                adapter = "cohere"
                base_model = "cohere.command-light-text-v14:7:4k"
                backend = "cloud"
                allow_end_of_life = true

                [profiles.f]
                adapter = "llama"
                base_model = "meta.llama3-2-1b-instruct-v1:0:128k"
                backend = "here"
                """, file: "/etc/finetuned/finetuned.toml")
        let check = ProfileCheck.check(config, adapters: set, today: "2026-11-28")
        #expect(
            check.errors.map(\.description) == [
                "finetuned.toml:9: profile 'a': unknown adapter 'cohre' (known: cohere, llama)",
                "finetuned.toml:15: profile 'b': adapter 'cohere' has no base model 'cohere.command-lite-text-v14:7:4k' (did you mean 'cohere.command-light-text-v14:7:4k'? known: cohere.command-text-v14:7:4k, cohere.command-light-text-v14:7:4k)",
                "finetuned.toml:23: profile 'c': hyperparameter 'batchSize' = 2: 2 is above the maximum 1 (allowed 1...1, default 1) for meta.llama3-1-8b-instruct-v1:0:128k",
            ])
        #expect(
            check.warnings.map(\.description) == [
                "finetuned.toml:27: profile 'd': base model cohere.command-light-text-v14:7:4k reached end of life on 2025-08-12; paid jobs on it are refused unless the profile sets allow_end_of_life = true",
                "finetuned.toml:32: profile 'e': base model cohere.command-light-text-v14:7:4k reached end of life on 2025-08-12; the profile allows paid jobs on it anyway",
                "finetuned.toml:38: profile 'f': base model meta.llama3-2-1b-instruct-v1:0:128k reached end of life on 2026-07-07; the local backend still runs it",
            ])
        #expect(
            check.profiles["d"]?.paidJobRefusal(today: "2026-11-28")
                == "base model cohere.command-light-text-v14:7:4k reached end of life on 2025-08-12; set allow_end_of_life = true in profile 'd' to start a paid job on it anyway"
        )
        #expect(check.profiles["d"]?.paidJobRefusal(today: "2025-08-11") == nil)

        // What only the adapter knows: inference settings its model refuses, and on-demand
        // serving of a model without deployments; Nova's serving facts resolve per backend.
        try BuiltProducts.installAdapters(["nova"], into: dir.file("adapters"))
        let withNova = await AdapterLoader().scan(directories: [dir.file("adapters")])
        let serving = try ConfigurationLoader.parse(
            text: """
                [backends.cloud]
                kind = "bedrock"
                role_arn = "arn:aws:iam::123456789012:role/finetuned"
                bucket = "finetuned-data"

                [profiles.hot]
                adapter = "nova"
                base_model = "amazon.nova-lite-v1:0:300k"
                backend = "cloud"
                [profiles.hot.inference]
                temperature = 1.5

                [profiles.pt]
                adapter = "cohere"
                base_model = "cohere.command-text-v14:7:4k"
                backend = "cloud"
                serving = "on_demand"

                [profiles.nova]
                adapter = "nova"
                base_model = "amazon.nova-micro-v1:0:128k"
                backend = "cloud"
                [profiles.nova.inference]
                max_tokens = 300
                top_k = 20

                [profiles.llama]
                adapter = "llama"
                base_model = "meta.llama3-1-8b-instruct-v1:0:128k"
                backend = "cloud"
                serving = "auto"

                [profiles.student]
                adapter = "nova"
                base_model = "amazon.nova-micro-v1:0:128k"
                backend = "cloud"
                customization = "distillation"
                teacher_model = "meta.llama3-1-405b-instruct-v1:0"

                [profiles.nostudent]
                adapter = "nova"
                base_model = "amazon.nova-2-lite-v1:0:256k"
                backend = "cloud"
                customization = "distillation"
                teacher_model = "amazon.nova-pro-v1:0"
                """, file: "/etc/finetuned/finetuned.toml")
        let servingCheck = ProfileCheck.check(serving, adapters: withNova, today: "2026-11-28")
        #expect(
            servingCheck.errors.map(\.description) == [
                "finetuned.toml:10: profile 'hot': [inference]: temperature = 1.5 is out of range 1e-05...1.0 for amazon.nova-lite-v1:0:300k",
                "finetuned.toml:44: profile 'nostudent': Nova 2 Lite cannot be a distillation student",
                "finetuned.toml:17: profile 'pt': Cohere Command cannot be served on demand (no custom model deployment); use serving = \"provisioned\" or \"auto\"",
                "finetuned.toml:38: profile 'student': Nova Micro cannot learn from 'meta.llama3-1-405b-instruct-v1:0' (teachers: amazon.nova-pro-v1:0, amazon.nova-premier-v1:0)",
            ])
        #expect(servingCheck.profiles["nova"]?.servesOnDemand == true)
        #expect(servingCheck.profiles["llama"]?.servesOnDemand == false, "auto: Llama 3.1 has no custom model deployment")
        #expect(check.profiles["e"]?.paidJobRefusal(today: "2026-11-28") == nil)
        #expect(check.profiles["f"]?.paidJobRefusal(today: "2026-11-28") == nil)
    }
}

/// Adapters as the operator meets them: `finetunectl adapters`, and a reload that adds one.
@Suite("Adapters in the running daemon")
struct DaemonAdapterTests {
    /// Rewrites the daemon's configuration with a profile `c` on the C example adapter.
    static func addExampleProfile(to daemon: DaemonHarness) throws {
        try daemon.directory.write(
            "finetuned.toml",
            DaemonHarness.configuration(in: daemon.directory) + """

                [profiles.c]
                adapter = "example"
                base_model = "example.text-v1:0"
                backend = "slow"
                """)
    }

    @Test("finetunectl adapters --json lists adapters, models with lifecycle, and hyperparameter schemas")
    func listing() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil, "log:\n\(daemon.log)")
        let result = try await daemon.ctl(["adapters", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let listing = try JSONValue(parsing: result.stdout)
        let adapters = try #require(listing["adapters"]?.arrayValue)
        #expect(adapters.compactMap { $0["name"]?.stringValue } == ["cohere", "llama", "local", "nova", "titan"])
        let listed = try await daemon.ctl(["adapters"])
        for id in ["amazon.nova-micro-v1:0:128k", "amazon.nova-lite-v1:0:300k", "amazon.nova-pro-v1:0:300k", "amazon.nova-2-lite-v1:0:256k"] {
            #expect(listed.stdout.contains("  \(id)  [active]"), "\(id) in:\n\(listed.stdout)")
        }
        #expect(
            listed.stdout.contains(
                "fine tuning, distillation; served on demand or provisioned; Converse; teachers: amazon.nova-pro-v1:0, amazon.nova-premier-v1:0; 8–20000 records"
            ))
        #expect(listed.stdout.contains("learningRateWarmupSteps: integer 0...20, default 10"))
        let light = try #require(adapters[0]["models"]?.arrayValue?.first { $0["id"]?.stringValue == "cohere.command-light-text-v14:7:4k" })
        let expectedStatus = LifecycleCalendar.today() >= "2025-08-12" ? "end_of_life" : "legacy"
        #expect(light["lifecycle_status"]?.stringValue == expectedStatus)
        #expect(light["lifecycle"]?["end_of_life_date"]?.stringValue == "2025-08-12")
        let batch = try #require(light["hyperparameters"]?.arrayValue?.first { $0["name"]?.stringValue == "batchSize" })
        #expect(batch == ["name": "batchSize", "type": "integer", "min": 8, "max": 32, "default": 8, "description": "Records per parameter update."])
        #expect(listing["refused"]?.arrayValue == [])

        let human = try await daemon.ctl(["adapters"])
        #expect(
            human.stdout.contains(
                "  cohere.command-light-text-v14:7:4k  [end of life since 2025-08-12]  Cohere Command Light; invoke as cohere.command-light-text-v14")
        )
        #expect(human.stdout.contains("      batchSize: integer 8...32, default 8"))
    }

    @Test("a reload picks up a newly added adapter and a profile that uses it, without a restart")
    func reloadAddsAdapter() async throws {
        let daemon = try DaemonHarness(adapters: ["local"])
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil, "log:\n\(daemon.log)")
        let before = try JSONValue(parsing: try await daemon.ctl(["adapters", "--json"]).stdout)
        #expect(before["adapters"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["local"])

        try CAdapterBuilder.build(into: daemon.directory.file("adapters"))
        try Self.addExampleProfile(to: daemon)
        let reload = try await daemon.ctl(["reload"])
        #expect(reload.status == 0, "\(reload.stderr)")
        #expect(reload.stdout.contains("configuration reloaded (2 profiles: c, rehearsal)"))
        let after = try JSONValue(parsing: try await daemon.ctl(["adapters", "--json"]).stdout)
        #expect(after["adapters"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["example", "local"])
        #expect(
            daemon.pid == (try JSONDecoder.control.decode(DaemonStatus.self, from: Data(try await daemon.ctl(["status", "--json"]).stdout.utf8))).pid)
    }

    @Test("a configuration naming a refused adapter is refused with the plugin's reason; the old one stays")
    func refusedAdapterInProfile() async throws {
        let daemon = try DaemonHarness(adapters: ["local"])
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        try CAdapterBuilder.build(into: daemon.directory.file("adapters"), defines: ["EXAMPLE_ABI_MAJOR=2"])
        try Self.addExampleProfile(to: daemon)
        let reload = try await daemon.ctl(["reload"])
        #expect(reload.status == 1)
        #expect(
            reload.stderr.contains(
                "finetuned.toml:32: profile 'c': adapter 'example' was refused: refusing adapter \(daemon.directory.file("adapters"))/libfinetuned-adapter-example.so: it was built for adapter ABI 2, this daemon speaks ABI 1"
            ), "\(reload.stderr)")
        let status = try JSONDecoder.control.decode(DaemonStatus.self, from: Data(try await daemon.ctl(["status", "--json"]).stdout.utf8))
        #expect(status.profiles == ["rehearsal"])
    }
}

@Suite("Adapter ABI versions")
struct AdapterABIVersionTests {
    @Test("a plugin built against ABI 1.0 (the unchanged C example, the 1.0 header) loads, with the 1.0 defaults for what 1.1 added")
    func oldPlugin() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // The 1.0 header: the same table, minor version 0.
        let header = try String(contentsOfFile: CAdapterBuilder.includeDirectory + "/finetuned_adapter.h", encoding: .utf8)
        #expect(header.contains("#define FINETUNED_ADAPTER_ABI_MINOR 1"))
        try FileManager.default.createDirectory(atPath: dir.file("include-1.0"), withIntermediateDirectories: true)
        try header.replacingOccurrences(of: "#define FINETUNED_ADAPTER_ABI_MINOR 1", with: "#define FINETUNED_ADAPTER_ABI_MINOR 0")
            .write(toFile: dir.file("include-1.0/finetuned_adapter.h"), atomically: true, encoding: .utf8)
        let path = try CAdapterBuilder.build(into: dir.file("adapters"), includeDirectory: dir.file("include-1.0"))
        let loaded = try LoadedAdapter.load(path: path)
        #expect(!loaded.description.models.isEmpty)
        for model in loaded.description.models {
            #expect(model.serving == ServingFacts(), "\(model.id): fine-tuning, provisioned, InvokeModel, validation data")
            #expect(model.record.conversation.map { $0.reservedStrings.isEmpty && $0.media == nil && !$0.anySchemaVersion } ?? true)
        }
    }
}
