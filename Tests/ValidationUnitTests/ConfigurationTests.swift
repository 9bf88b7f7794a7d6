import FinetunedConfig
import FinetunedTestSupport
import FinetunedText
import Foundation
import Testing

@Suite("Configuration file")
struct ConfigurationTests {
    /// Parses `text` expecting failure; returns the diagnostics as printed.
    func errors(_ text: String, knownAdapters: Set<String>? = nil) -> [String] {
        do {
            _ = try ConfigurationLoader.parse(text: text, file: "/etc/finetuned/finetuned.toml", knownAdapters: knownAdapters)
            Issue.record("expected the configuration to be refused")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test("the shipped example configuration is valid and means what its comments say")
    func shippedExample() throws {
        let path = BuiltProducts.packageRoot.appendingPathComponent("etc/finetuned/finetuned.toml").path
        let config = try ConfigurationLoader.load(path: path, knownAdapters: ["cohere", "llama", "nova", "titan", "local"])
        #expect(config.paths.inbox == "/var/lib/finetuned/inbox")
        #expect(config.adapterDirectories == ["/usr/lib/finetuned/adapters", "/etc/finetuned/adapters"])
        #expect(config.daemon.runtimeDirectory == "/run/finetuned")
        #expect(config.backends["bedrock"]?.kind == .bedrock)
        #expect(config.backends["bedrock"]?.settings["region"] == .string("us-east-1"))
        // It leads with Nova, served on demand.
        #expect(config.profiles["summaries"]?.adapter == "nova" && config.profiles["summaries"]?.serving == .auto)
        #expect(config.profiles["summaries"]?.hyperparameters["epochCount"]?.scalarText == "2")
        #expect(config.profiles["summaries"]?.hyperparameters["learningRate"]?.scalarText == "1e-05")
        #expect(config.profiles["command"]?.allowEndOfLife == false)
        #expect(config.limits.maxLiveDeployments == 4)
        #expect(config.notifications.email?.port == 587)
        #expect(config.notifications.email?.security == .starttls)
        #expect(config.evaluation.confidence == 0.95)
        #expect(config.limits.maxLiveThroughputs == 2)
        #expect(config.engine.notFoundGrace == .seconds(120))
    }

    @Test("not_found_grace_seconds is read, and refused outside 0…86400")
    func notFoundGrace() throws {
        let config = try ConfigurationLoader.parse(text: ConfigurationFixtures.minimal + "\n[engine]\nnot_found_grace_seconds = 30\n", file: "x.toml")
        #expect(config.engine.notFoundGrace == .seconds(30))
        #expect(try ConfigurationLoader.parse(text: ConfigurationFixtures.minimal, file: "x.toml").engine.notFoundGrace == .seconds(120))
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(text: ConfigurationFixtures.minimal + "\n[engine]\nnot_found_grace_seconds = -1\n", file: "x.toml")
        }
    }

    @Test("the demo configuration is valid once its placeholder is filled in")
    func demoConfiguration() throws {
        let path = BuiltProducts.packageRoot.appendingPathComponent("etc/finetuned/demo.toml").path
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "@DEMO@", with: "/tmp/demo")
        let config = try ConfigurationLoader.parse(text: text, file: path)
        #expect(config.profiles["rehearsal"]?.backend == "local")
        #expect(config.notifications.maildir == "/tmp/demo/mail")
    }

    @Test("defaults apply when sections are left out; inbox and archive follow the state directory")
    func defaults() throws {
        let config = try ConfigurationLoader.parse(text: "[paths]\nstate = \"/srv/ft\"\n" + ConfigurationFixtures.minimal, file: "x.toml")
        #expect(config.paths.inbox == "/srv/ft/inbox")
        #expect(config.paths.rejected == "/srv/ft/rejected")
        #expect(config.paths.archive == "/srv/ft/archive")
        #expect(config.daemon.shutdownTimeout == .seconds(20))
        #expect(config.evaluation.layer == 6)
    }

    @Test("an unknown adapter names the file, the line and the adapters that exist")
    func unknownAdapter() {
        let text = ConfigurationFixtures.minimal.replacingOccurrences(of: "\"cohere\"", with: "\"cohre\"")
        #expect(
            errors(text, knownAdapters: ["cohere", "llama", "titan"]) == [
                "finetuned.toml:5: profile 'summaries': unknown adapter 'cohre' (known: cohere, llama, titan)"
            ])
    }

    @Test("a TOML syntax error reports its line and column")
    func syntaxError() {
        let found = errors("[daemon]\nlog_level = \"info\"\nshutdown_timeout_seconds = \n")
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("finetuned.toml:3: TOML syntax error:") == true)
        #expect(found.first?.contains("column") == true)
    }

    @Test("a misspelt key is an error with a suggestion, not silently ignored")
    func misspeltKey() {
        let text = ConfigurationFixtures.minimal.replacingOccurrences(of: "base_model", with: "base_modle")
        #expect(
            errors(text) == [
                "finetuned.toml:4: profile 'summaries': missing required key 'base_model'",
                "finetuned.toml:6: profile 'summaries': unknown key 'base_modle' (did you mean 'base_model'?)",
            ])
    }

    @Test("every problem in the file is reported at once, in line order")
    func allErrorsAtOnce() {
        let text = """
            [daemon]
            log_level = "loud"
            shutdown_timeout_seconds = "20"

            [limits]
            max_concurrent_workflows = 0

            [paths]
            inbox = "drops"

            [evaluation]
            confidence = 1.5
            """ + "\n" + ConfigurationFixtures.minimal.replacingOccurrences(of: "backend = \"local\"", with: "backend = \"bedrock\"")
        #expect(
            errors(text) == [
                "finetuned.toml:2: [daemon]: unknown log_level 'loud' (known: trace, debug, info, notice, warning, error, critical)",
                "finetuned.toml:3: [daemon]: 'shutdown_timeout_seconds' must be an integer, not a string",
                "finetuned.toml:6: [limits]: 'max_concurrent_workflows' = 0 is out of range 1...10000",
                "finetuned.toml:9: [paths]: 'inbox' must be an absolute path, not 'drops'",
                "finetuned.toml:12: [evaluation]: 'confidence' = 1.5 is out of range 0.5...0.9999",
                "finetuned.toml:19: profile 'summaries': unknown backend 'bedrock' (known: local)",
            ])
    }

    @Test("a password or webhook secret in clear text is refused with what to do instead")
    func secretsInClearText() {
        let text =
            ConfigurationFixtures.minimal + """

                [notify.email]
                host = "smtp.example.com"
                password = "hunter2"
                from = "ft@example.com"
                to = ["ops@example.com"]

                [notify.webhook]
                url = "https://hooks.example.com/x"
                secret = "s3cr3t"
                """
        let found = errors(text)
        #expect(found.count == 2)
        #expect(found[0].hasPrefix("finetuned.toml:10: [notify.email]: a password does not belong in the configuration"))
        #expect(found[0].contains("password_file"))
        #expect(found[1].hasPrefix("finetuned.toml:16: [notify.webhook]: a secret does not belong in the configuration"))
        #expect(!found.joined().contains("hunter2"))
        #expect(!found.joined().contains("s3cr3t"))
    }

    @Test("security = \"none\" with a username or password file is refused: AUTH would go in clear")
    func credentialsWithoutTLS() throws {
        for credential in ["username = \"ft\"", "password_file = \"/etc/finetuned/smtp-password\""] {
            let text =
                ConfigurationFixtures.minimal
                + "\n\n[notify.email]\nhost = \"smtp.example.com\"\nsecurity = \"none\"\n\(credential)\nfrom = \"ft@example.com\"\nto = [\"ops@example.com\"]\n"
            let found = errors(text)
            #expect(
                found.count == 1 && found.first?.contains("security = \"none\" with credentials would send the password in clear") == true, "\(found)"
            )
        }
        let plain =
            ConfigurationFixtures.minimal
            + "\n\n[notify.email]\nhost = \"relay.internal\"\nport = 25\nsecurity = \"none\"\nfrom = \"ft@example.com\"\nto = [\"ops@example.com\"]\n"
        #expect(
            try ConfigurationLoader.parse(text: plain, file: "x.toml").notifications.email?.security == SMTPSecurity.none,
            "an unauthenticated relay on port 25 stays possible")
    }

    @Test("backend kinds, profile names and email addresses are checked")
    func namesAndKinds() {
        let text = """
            [backends.cloud]
            kind = "azure"

            [profiles."bad name"]
            adapter = "cohere"
            base_model = "m"
            backend = "cloud"

            [notify.email]
            host = "smtp.example.com"
            security = "ssl"
            from = "nobody"
            to = []
            """
        #expect(
            errors(text) == [
                "finetuned.toml:2: backend 'cloud': unknown kind 'azure' (known: bedrock, local, scripted)",
                "finetuned.toml:4: profile 'bad name': invalid profile name (it becomes an inbox folder: letters, digits, '-' and '_', at most 63)",
                "finetuned.toml:11: [notify.email]: unknown security 'ssl' (known: starttls, tls, none)",
                "finetuned.toml:12: [notify.email]: 'nobody' is not an email address",
                "finetuned.toml:13: [notify.email]: 'to' needs at least one address",
            ])
    }

    @Test("named evaluation and validation sets: absolute paths under usable names; validation sets for Bedrock only")
    func namedSets() throws {
        let good = try ConfigurationLoader.parse(
            text: """
                [backends.cloud]
                kind = "bedrock"
                role_arn = "arn:aws:iam::123456789012:role/finetuned"
                bucket = "my-data"

                [profiles.p]
                adapter = "cohere"
                base_model = "m"
                backend = "cloud"

                [profiles.p.evaluation_sets]
                q3 = "/srv/eval/q3.jsonl"
                q4 = "/srv/eval/q4.jsonl"

                [profiles.p.validation_sets]
                q3 = "/srv/validation/q3.jsonl"
                """, file: "/etc/finetuned/finetuned.toml")
        #expect(good.profiles["p"]?.evaluationSets == ["q3": "/srv/eval/q3.jsonl", "q4": "/srv/eval/q4.jsonl"])
        #expect(good.profiles["p"]?.validationSets == ["q3": "/srv/validation/q3.jsonl"])
        #expect(
            errors(
                """
                [backends.here]
                kind = "local"

                [profiles.p]
                adapter = "local"
                base_model = "m"
                backend = "here"

                [profiles.p.evaluation_sets]
                "../up" = "/srv/eval/a.jsonl"
                relative = "eval/b.jsonl"

                [profiles.p.validation_sets]
                v = "/srv/v.jsonl"
                """) == [
                    "finetuned.toml:10: [profiles.p.evaluation_sets]: '../up' is not a usable set name (letters, digits, '-' and '_', at most 63)",
                    "finetuned.toml:11: [profiles.p.evaluation_sets]: 'relative' must be an absolute path, not 'eval/b.jsonl'",
                    "finetuned.toml:13: profile 'p': validation sets are sent to Bedrock as the job's validation data; the backend 'here' takes none",
                ])
    }

    @Test("serving and keep: their values, and on-demand serving only where a deployment exists")
    func servingChoices() throws {
        let good = try ConfigurationLoader.parse(
            text: """
                [backends.cloud]
                kind = "bedrock"
                role_arn = "arn:aws:iam::123456789012:role/finetuned"
                bucket = "my-data"

                [profiles.a]
                adapter = "nova"
                base_model = "amazon.nova-lite-v1:0:300k"
                backend = "cloud"
                serving = "on_demand"
                keep = "model_only"

                [profiles.b]
                adapter = "nova"
                base_model = "amazon.nova-lite-v1:0:300k"
                backend = "cloud"
                """, file: "/etc/finetuned/finetuned.toml")
        #expect(good.profiles["a"]?.serving == .onDemand && good.profiles["a"]?.keep == .modelOnly)
        #expect(good.profiles["b"]?.serving == .auto && good.profiles["b"]?.keep == .modelAndServing, "the defaults")
        #expect(
            errors(
                """
                [backends.here]
                kind = "local"

                [profiles.p]
                adapter = "local"
                base_model = "m"
                backend = "here"
                serving = "on_demand"
                keep = "everything"
                """) == [
                    "finetuned.toml:8: profile 'p': on-demand serving is a Bedrock custom model deployment; the local backend 'here' has none",
                    "finetuned.toml:9: profile 'p': 'keep' = 'everything' is not one of model_and_serving, model_only",
                ])
        #expect(
            errors(
                """
                [backends.cloud]
                kind = "bedrock"
                role_arn = "arn:aws:iam::123456789012:role/finetuned"
                bucket = "my-data"

                [profiles.a]
                adapter = "nova"
                base_model = "amazon.nova-lite-v1:0:300k"
                backend = "cloud"
                customization = "distillation"

                [profiles.b]
                adapter = "nova"
                base_model = "amazon.nova-lite-v1:0:300k"
                backend = "cloud"
                teacher_model = "amazon.nova-pro-v1:0"
                """) == [
                    "finetuned.toml:6: profile 'a': customization = \"distillation\" needs teacher_model, the model whose answers the student learns",
                    "finetuned.toml:16: profile 'b': teacher_model is for customization = \"distillation\"",
                ])
    }

    @Test("hyperparameters take scalars only")
    func hyperparameterTypes() {
        let text = ConfigurationFixtures.minimal + "\n\n[profiles.summaries.hyperparameters]\nepochCount = [1, 2]\nbatchSize = 8\n"
        #expect(
            errors(text) == [
                "finetuned.toml:9: profile 'summaries': hyperparameter 'epochCount' must be a string, number or boolean, not an array"
            ])
    }

    @Test("a missing file is reported by name")
    func missingFile() {
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(path: "/nonexistent/finetuned.toml")
        }
        do {
            _ = try ConfigurationLoader.load(path: "/nonexistent/finetuned.toml")
        } catch {
            #expect(error.description.hasPrefix("finetuned.toml: cannot read the configuration"))
        }
    }
}

@Suite("TOML key locator")
struct TOMLKeyLocatorTests {
    @Test("finds keys under headers, dotted and quoted keys, array tables, and skips multi-line strings")
    func locations() {
        let text = """
            # comment
            top = 1
            [profiles.summaries]
            adapter = "x"
            hyperparameters.epochCount = 2
            description = \"\"\"
            fake = "not a key"
            \"\"\"
            [profiles."with.dot"]
            "quoted key" = 3
            [[hooks]]
            name = "a"
            [[hooks]]
            name = "b"
            after = 'x = y'
            """
        let locator = TOMLKeyLocator(text: text)
        #expect(locator.line(for: ["top"]) == 2)
        #expect(locator.line(for: ["profiles", "summaries"]) == 3)
        #expect(locator.line(for: ["profiles", "summaries", "adapter"]) == 4)
        #expect(locator.line(for: ["profiles", "summaries", "hyperparameters", "epochCount"]) == 5)
        #expect(locator.line(for: ["profiles", "summaries", "hyperparameters"]) == 5)
        #expect(locator.line(for: ["profiles", "summaries", "fake"]) == 3)
        #expect(locator.line(for: ["profiles", "with.dot", "quoted key"]) == 10)
        #expect(locator.line(for: ["hooks", "0", "name"]) == 12)
        #expect(locator.line(for: ["hooks", "1", "name"]) == 14)
        #expect(locator.line(for: ["hooks", "1", "after"]) == 15)
        #expect(locator.line(for: ["nothing"]) == nil)
    }
}

@Suite("[store]: a PostgreSQL URL")
struct StoreSettingsTests {
    func parse(_ url: String) -> Result<StoreSettings, Failure> { StoreSettings.parse(url: url) }

    @Test("a host with TLS verified by default, a port, a Unix socket directory, percent-escapes")
    func forms() throws {
        let tcp = try parse("postgresql://finetuned@db.internal:6432/workflows").get()
        #expect(
            tcp.server == .tcp(host: "db.internal", port: 6432) && tcp.sslMode == .verifyFull && tcp.user == "finetuned"
                && tcp.database == "workflows")
        let socket = try parse("postgresql://finetuned@/workflows?host=/run/postgresql").get()
        #expect(socket.server.socketPath == "/run/postgresql/.s.PGSQL.5432" && socket.sslMode == .disable)
        #expect(try parse("postgres://fine%40tuned@localhost/w?sslmode=disable").get().user == "fine@tuned")
        #expect(try parse("postgresql://u@[::1]:5433/w?sslmode=require").get().server == .tcp(host: "::1", port: 5433))
    }

    @Test("a password, a missing part, plain text to another machine and unknown parameters are refused with the way out")
    func refusals() {
        func message(_ url: String) -> String {
            if case .failure(let error) = parse(url) { return error.message }
            return "accepted"
        }
        #expect(message("postgresql://u:secret@db/w").contains("password_file"))
        #expect(!message("postgresql://u:secret@db/w").contains("secret"), "the refusal does not repeat the password")
        #expect(message("mysql://u@db/w").contains("postgresql://"))
        #expect(message("postgresql://db/w").contains("no user"))
        #expect(message("postgresql://u@db").contains("no database"))
        #expect(message("postgresql://u@db:99999/w").contains("port"))
        #expect(message("postgresql://u@db/w?sslmode=prefer").contains("verify-full"))
        #expect(message("postgresql://u@db.internal/w?sslmode=disable").contains("in clear"))
        #expect(message("postgresql://u@/w?host=run/pg").contains("absolute directory"))
        #expect(message("postgresql://u@db/w?connect_timeout=3").contains("unknown parameter 'connect_timeout'"))
    }

    @Test("[store] in the file: url and password_file read; the url's problems are the file's, by line")
    func inTheFile() throws {
        let config = try ConfigurationLoader.parse(
            text: ConfigurationFixtures.minimal
                + "\n[store]\nurl = \"postgresql://finetuned@/finetuned?host=/run/postgresql\"\npassword_file = \"/etc/finetuned/store-password\"\n",
            file: "f.toml")
        #expect(config.store?.database == "finetuned" && config.store?.passwordFile == "/etc/finetuned/store-password")
        #expect(try ConfigurationLoader.parse(text: ConfigurationFixtures.minimal, file: "f.toml").store == nil, "SQLite by default")
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(text: ConfigurationFixtures.minimal + "\n[store]\nurl = \"postgresql://u:pw@db/w\"\n", file: "f.toml")
        }
    }
}
