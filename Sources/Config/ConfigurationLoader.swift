import Foundation

/// Reads and checks `finetuned.toml`.
///
/// Everything that can be checked without the adapters is checked here; a caller that has
/// loaded the adapters passes their names so a misspelt adapter is reported with the line
/// of the profile that names it.
public enum ConfigurationLoader {
    public static let defaultPath = "/etc/finetuned/finetuned.toml"

    /// Names usable as profile and backend names: they become inbox folder names and parts of
    /// Bedrock resource names, so they are kept to what both accept.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count), bytes[0].isASCIIAlphanumeric else { return false }
        return bytes.allSatisfy { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    public static func load(path: String, knownAdapters: Set<String>? = nil) throws(ConfigurationError) -> DaemonConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? error.localizedDescription
            throw ConfigurationError([ConfigurationDiagnostic(file: path, line: nil, message: "cannot read the configuration: \(reason)")])
        }
        return try parse(text: text, file: path, knownAdapters: knownAdapters)
    }

    /// A TOML document as values with its key locator, for files shaped like parts of the
    /// configuration (drop sidecars).
    public static func parseDocument(text: String, file: String) throws(ConfigurationError) -> (root: [String: ConfigNode], locator: TOMLKeyLocator) {
        (try ConfigNode.parse(text: text, file: file), TOMLKeyLocator(text: text))
    }

    public static func parse(text: String, file: String, knownAdapters: Set<String>? = nil) throws(ConfigurationError) -> DaemonConfiguration {
        let root = try ConfigNode.parse(text: text, file: file)
        let context = ReaderContext(file: file, locator: TOMLKeyLocator(text: text))
        var top = TableReader(path: [], entries: root, context: context)

        var daemon = DaemonSettings()
        if var t = top.table("daemon") {
            if let level = t.string("log_level") {
                if ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) {
                    daemon.logLevel = level
                } else {
                    t.error("log_level", "unknown log_level '\(level)' (known: trace, debug, info, notice, warning, error, critical)")
                }
            }
            daemon.shutdownTimeout = t.integer("shutdown_timeout_seconds", in: 1...3600).map { .seconds($0) } ?? daemon.shutdownTimeout
            daemon.runtimeDirectory = t.absolutePath("runtime_directory") ?? daemon.runtimeDirectory
            if let group = t.string("control_group") { daemon.controlGroup = group.isEmpty ? nil : group }
            t.finish()
        }

        var paths = Paths()
        if var t = top.table("paths") {
            paths.state = t.absolutePath("state") ?? paths.state
            // Spool, inbox, rejected and archive default to folders of the state directory so
            // that claiming a drop is a rename within one filesystem (and one mount).
            paths.inbox = t.absolutePath("inbox") ?? paths.state + "/inbox"
            paths.rejected = t.absolutePath("rejected") ?? paths.state + "/rejected"
            paths.archive = t.absolutePath("archive") ?? paths.state + "/archive"
            paths.models = t.absolutePath("models") ?? paths.models
            t.finish()
        }

        var adapterDirectories = ["/usr/lib/finetuned/adapters", "/etc/finetuned/adapters"]
        if var t = top.table("adapters") {
            if let dirs = t.stringArray("directories") {
                for dir in dirs where !dir.hasPrefix("/") {
                    t.error("directories", "adapter directory '\(dir)' must be an absolute path")
                }
                adapterDirectories = dirs
            }
            t.finish()
        }

        var inbox = InboxSettings()
        if var t = top.table("inbox") {
            inbox.submitGroup = t.string("submit_group") ?? inbox.submitGroup
            inbox.requireGroup = t.bool("require_group") ?? inbox.requireGroup
            t.finish()
        }

        var limits = CostLimits()
        if var t = top.table("limits") {
            limits.maxConcurrentWorkflows = t.integer("max_concurrent_workflows", in: 1...10_000) ?? limits.maxConcurrentWorkflows
            limits.maxLiveThroughputs = t.integer("max_live_throughputs", in: 0...1_000) ?? limits.maxLiveThroughputs
            limits.maxLiveDeployments = t.integer("max_live_deployments", in: 0...1_000) ?? limits.maxLiveDeployments
            limits.maxUnkeptThroughputAge = t.duration("max_unkept_throughput_hours", .hours, in: 0.1...720) ?? limits.maxUnkeptThroughputAge
            t.finish()
        }

        var engine = EngineSettings()
        if var t = top.table("engine") {
            engine.jobPoll = t.duration("job_poll_seconds", .seconds, in: 0.001...86_400) ?? engine.jobPoll
            engine.throughputPoll = t.duration("throughput_poll_seconds", .seconds, in: 0.001...86_400) ?? engine.throughputPoll
            engine.maxPoll = t.duration("max_poll_seconds", .seconds, in: 0.001...86_400) ?? engine.maxPoll
            engine.retryBase = t.duration("retry_base_seconds", .seconds, in: 0.001...3_600) ?? engine.retryBase
            engine.retryMax = t.duration("retry_max_seconds", .seconds, in: 0.001...86_400) ?? engine.retryMax
            engine.stepAttempts = t.integer("step_attempts", in: 1...1_000) ?? engine.stepAttempts
            engine.trainingDeadline = t.duration("training_deadline_hours", .hours, in: 0.000_01...720) ?? engine.trainingDeadline
            engine.throughputDeadline = t.duration("throughput_deadline_minutes", .minutes, in: 0.000_1...10_080) ?? engine.throughputDeadline
            engine.invokeTimeout = t.duration("invoke_timeout_seconds", .seconds, in: 0.001...3_600) ?? engine.invokeTimeout
            engine.invokeAttempts = t.integer("invoke_attempts", in: 1...100) ?? engine.invokeAttempts
            engine.notFoundGrace = t.duration("not_found_grace_seconds", .seconds, in: 0...86_400) ?? engine.notFoundGrace
            if engine.maxPoll < max(engine.jobPoll, engine.throughputPoll) {
                t.error("max_poll_seconds", "max_poll_seconds is below job_poll_seconds or throughput_poll_seconds")
            }
            t.finish()
        }

        var backends: [String: BackendConfiguration] = [:]
        // Names of all declared backends, valid or not: a profile naming a broken backend
        // should not get a second, misleading "unknown backend" error.
        var declaredBackends: Set<String> = []
        for (name, var t) in top.namedTables("backends") {
            declaredBackends.insert(name)
            if !isValidName(name) { t.error(nil, "invalid backend name '\(name)'") }
            guard let kindText = t.requiredString("kind") else { continue }
            guard let kind = BackendKind(rawValue: kindText) else {
                t.error("kind", "unknown kind '\(kindText)' (known: \(BackendKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                continue
            }
            var settings = t.entries
            settings["kind"] = nil
            var backend = BackendConfiguration(name: name, kind: kind, settings: settings)
            if kind == .scripted {
                backend.script = readScript(&t)
                t.finish()
            }
            if kind == .bedrock {
                backend.bedrock = readBedrock(&t)
                t.finish()
            }
            backends[name] = backend
        }

        var evaluation = EvaluationSettings()
        if var t = top.table("evaluation") {
            evaluation.layer = t.integer("layer", in: 1...48) ?? evaluation.layer
            evaluation.idf = t.bool("idf") ?? evaluation.idf
            evaluation.minImprovement = t.number("min_improvement", in: -1...1) ?? evaluation.minImprovement
            evaluation.confidence = t.number("confidence", in: 0.5...0.9999) ?? evaluation.confidence
            evaluation.resamples = t.integer("resamples", in: 100...1_000_000) ?? evaluation.resamples
            evaluation.minPrompts = t.integer("min_prompts", in: 1...100_000) ?? evaluation.minPrompts
            t.finish()
        }

        var metrics: MetricsSettings?
        if var t = top.table("metrics") {
            let allowRemote = t.bool("allow_remote") ?? false
            if let listen = t.requiredString("listen") {
                switch MetricsSettings.parse(listen: listen) {
                case .failure(let error): t.error("listen", "'listen': \(error.description)")
                case .success(let address) where !allowRemote && !MetricsSettings.isLoopback(address.host):
                    t.error(
                        "listen",
                        "'listen' = \"\(listen)\" is reachable from other machines, and the metrics are served without "
                            + "TLS or authentication: use 127.0.0.1 (and a proxy), or set allow_remote = true to mean it")
                case .success(let address): metrics = MetricsSettings(host: address.host, port: address.port, allowRemote: allowRemote)
                }
            }
            t.finish()
        }

        var store: StoreSettings?
        if var t = top.table("store") {
            if let url = t.requiredString("url") {
                switch StoreSettings.parse(url: url) {
                case .failure(let error): t.error("url", error.message)
                case .success(var settings):
                    settings.passwordFile = t.absolutePath("password_file")
                    if let node = t.string("node_id") {
                        if StoreSettings.isValidNodeID(node) {
                            settings.nodeID = node
                        } else {
                            t.error("node_id", "'node_id' = \"\(node)\" must be 1 to 64 ASCII letters, digits, '.', '_' or '-'")
                        }
                    }
                    if let lease = t.duration("lease_seconds", .seconds, in: 6...600) { settings.lease = lease }
                    store = settings
                }
            }
            t.finish()
        }

        let notifications = readNotifications(&top)
        let profiles = readProfiles(&top, backends: declaredBackends, kinds: backends.mapValues(\.kind), knownAdapters: knownAdapters)
        top.finish()

        if !context.diagnostics.isEmpty {
            throw ConfigurationError(context.diagnostics.sorted { ($0.line ?? 0) < ($1.line ?? 0) })
        }
        return DaemonConfiguration(
            file: file, daemon: daemon, paths: paths, adapterDirectories: adapterDirectories,
            inbox: inbox, limits: limits, engine: engine, backends: backends, profiles: profiles,
            evaluation: evaluation, notifications: notifications, metrics: metrics, store: store, keyLocator: context.locator)
    }

    private static func readScript(_ t: inout TableReader) -> ScriptSettings {
        var s = ScriptSettings()
        s.stateFile = t.absolutePath("state_file")
        s.jobPolls = t.integer("job_polls", in: 0...1_000_000) ?? s.jobPolls
        s.jobOutcome = t.oneOf("job_outcome", ["Completed", "Failed", "Stopped"]) ?? s.jobOutcome
        s.jobMessage = t.string("job_message") ?? s.jobMessage
        s.throughputPolls = t.integer("throughput_polls", in: 0...1_000_000) ?? s.throughputPolls
        s.throughputOutcome = t.oneOf("throughput_outcome", ["InService", "Failed"]) ?? s.throughputOutcome
        s.throughputQuota = t.integer("throughput_quota", in: 0...1_000_000) ?? s.throughputQuota
        s.delayMilliseconds = t.integer("delay_ms", in: 0...3_600_000) ?? s.delayMilliseconds
        s.invokeDelayMilliseconds = t.integer("invoke_delay_ms", in: 0...3_600_000) ?? s.invokeDelayMilliseconds
        s.invokeConcurrency = t.integer("invoke_concurrency", in: 1...64) ?? s.invokeConcurrency
        s.throttleEvery = t.integer("throttle_every", in: 0...1_000_000) ?? s.throttleEvery
        s.failEvery = t.integer("fail_every", in: 0...1_000_000) ?? s.failEvery
        s.stormCalls = t.integer("storm_calls", in: 0...1_000_000) ?? s.stormCalls
        s.failOperation = t.oneOf("fail_operation", ScriptSettings.operations)
        s.failKind = t.oneOf("fail_kind", ScriptSettings.failKinds) ?? s.failKind
        s.customAnswers = t.oneOf("custom_answers", ["better", "worse", "same"]) ?? s.customAnswers
        return s
    }

    private static func readProfiles(
        _ top: inout TableReader, backends: Set<String>, kinds: [String: BackendKind], knownAdapters: Set<String>?
    ) -> [String: Profile] {
        var profiles: [String: Profile] = [:]
        for (name, var t) in top.namedTables("profiles") {
            if !isValidName(name) {
                t.error(nil, "invalid profile name (it becomes an inbox folder: letters, digits, '-' and '_', at most 63)")
            }
            let adapter = t.requiredString("adapter")
            if let adapter, let knownAdapters, !knownAdapters.contains(adapter) {
                let known = knownAdapters.isEmpty ? "none loaded" : "known: " + knownAdapters.sorted().joined(separator: ", ")
                t.error("adapter", "unknown adapter '\(adapter)' (\(known))")
            }
            let baseModel = t.requiredString("base_model")
            let backend = t.requiredString("backend")
            if let backend, !backends.contains(backend) {
                let known = backends.isEmpty ? "none configured" : "known: " + backends.sorted().joined(separator: ", ")
                t.error("backend", "unknown backend '\(backend)' (\(known))")
            }
            let evaluationSet = t.absolutePath("evaluation_set")
            let validationSet = t.absolutePath("validation_set")
            if validationSet != nil, let backend, let kind = kinds[backend], kind != .bedrock {
                t.error(
                    "validation_set",
                    "validation_set is sent to Bedrock as the job's validation data; the \(kind.rawValue) backend '\(backend)' holds out evalPercentage of the training data itself"
                )
            }
            let evaluationSets = readNamedSets(&t, "evaluation_sets")
            let validationSets = readNamedSets(&t, "validation_sets")
            if !validationSets.isEmpty, let backend, let kind = kinds[backend], kind != .bedrock {
                t.error("validation_sets", "validation sets are sent to Bedrock as the job's validation data; the backend '\(backend)' takes none")
            }
            let hyperparameters = t.rawTable("hyperparameters") ?? [:]
            for (key, value) in hyperparameters.sorted(by: { $0.key < $1.key }) where value.scalarText == nil {
                t.error("hyperparameters", "hyperparameter '\(key)' must be a string, number or boolean, not \(value.kindName)")
            }
            let serving = t.oneOf("serving", ServingChoice.allCases.map(\.rawValue)).flatMap(ServingChoice.init) ?? .auto
            let keep = t.oneOf("keep", KeepChoice.allCases.map(\.rawValue)).flatMap(KeepChoice.init) ?? .modelAndServing
            if serving == .onDemand, let backend, let kind = kinds[backend], kind != .bedrock {
                t.error("serving", "on-demand serving is a Bedrock custom model deployment; the \(kind.rawValue) backend '\(backend)' has none")
            }
            let customization = t.oneOf("customization", ["fine_tuning", "distillation"]) ?? "fine_tuning"
            let teacherModel = t.string("teacher_model")
            if customization == "distillation" && teacherModel == nil {
                t.error("teacher_model", "customization = \"distillation\" needs teacher_model, the model whose answers the student learns")
            }
            if customization != "distillation" && teacherModel != nil {
                t.error("teacher_model", "teacher_model is for customization = \"distillation\"")
            }
            if customization == "distillation", let backend, let kind = kinds[backend], kind != .bedrock {
                t.error("customization", "distillation is a Bedrock job; the \(kind.rawValue) backend '\(backend)' has none")
            }
            var inference = InferenceSettings()
            if var i = t.table("inference") {
                inference.maxTokens = i.integer("max_tokens", in: 1...1_000_000)
                inference.temperature = i.number("temperature", in: 0...2)
                inference.topP = i.number("top_p", in: 0...1)
                inference.topK = i.integer("top_k", in: 0...100_000)
                inference.stopSequences = i.stringArray("stop_sequences") ?? []
                i.finish()
            }
            let allowEndOfLife = t.bool("allow_end_of_life") ?? false
            let keepRejectedModels = t.bool("keep_rejected_models") ?? false
            t.finish()
            guard let adapter, let baseModel, let backend else { continue }
            var profile = Profile(
                name: name, adapter: adapter, baseModel: baseModel, backend: backend,
                evaluationSet: evaluationSet, hyperparameters: hyperparameters,
                allowEndOfLife: allowEndOfLife, keepRejectedModels: keepRejectedModels,
                line: t.context.locator.line(for: t.path), validationSet: validationSet,
                evaluationSets: evaluationSets, validationSets: validationSets)
            profile.serving = serving
            profile.keep = keep
            profile.inference = inference
            profile.customization = customization
            profile.teacherModel = teacherModel
            profiles[name] = profile
        }
        return profiles
    }

    /// `[profiles.X.evaluation_sets]`: the names a sidecar may choose from, each an absolute
    /// path the operator vouches for. Submitters never name a path themselves.
    private static func readNamedSets(_ t: inout TableReader, _ key: String) -> [String: String] {
        guard var table = t.table(key) else { return [:] }
        var sets: [String: String] = [:]
        for name in table.entries.keys.sorted() {
            if !isValidName(name) {
                table.error(name, "'\(name)' is not a usable set name (letters, digits, '-' and '_', at most 63)")
            }
            if let path = table.absolutePath(name) { sets[name] = path }
        }
        table.finish()
        return sets
    }

    /// `from` and `to` of a mail channel, each checked to look like an address.
    private static func readAddresses(_ t: inout TableReader) -> (from: String?, to: [String]) {
        let from = t.requiredString("from")
        let to = t.stringArray("to") ?? []
        if to.isEmpty { t.error("to", "'to' needs at least one address") }
        for address in to where !address.contains("@") {
            t.error("to", "'\(address)' is not an email address")
        }
        if let from, !from.contains("@") { t.error("from", "'\(from)' is not an email address") }
        return (from, to)
    }

    private static func readNotifications(_ top: inout TableReader) -> NotificationSettings {
        var settings = NotificationSettings()
        guard var notify = top.table("notify") else { return settings }
        if var t = notify.table("email") {
            if t.entries["password"] != nil {
                t.error(
                    "password",
                    "a password does not belong in the configuration: put it in a file readable by the daemon only and set 'password_file' (or use LoadCredential= and name the credential)"
                )
            }
            _ = t.string("password")
            let host = t.requiredString("host")
            let security =
                t.string("security").flatMap { text -> SMTPSecurity? in
                    guard let value = SMTPSecurity(rawValue: text) else {
                        t.error("security", "unknown security '\(text)' (known: starttls, tls, none)")
                        return nil
                    }
                    return value
                } ?? .starttls
            let port = t.integer("port", in: 1...65535) ?? (security == .tls ? 465 : 587)
            let username = t.string("username")
            let passwordFile = t.string("password_file")
            let caFile = t.absolutePath("ca_file")
            if security == SMTPSecurity.none, username != nil || passwordFile != nil {
                // AUTH over a connection without TLS sends the password in clear.
                t.error(
                    username != nil ? "username" : "password_file",
                    "security = \"none\" with credentials would send the password in clear: use starttls or tls, or remove username and password_file"
                )
            }
            let (from, to) = readAddresses(&t)
            t.finish()
            if let host, let from {
                settings.email = EmailSettings(
                    host: host, port: port, security: security, username: username,
                    passwordFile: passwordFile, caFile: caFile, from: from, to: to)
            }
        }
        if var t = notify.table("webhook") {
            if t.entries["secret"] != nil {
                t.error("secret", "a secret does not belong in the configuration: set 'secret_file'")
            }
            _ = t.string("secret")
            let url = t.requiredString("url")
            if let url, !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
                t.error("url", "'url' must be an http:// or https:// URL")
            }
            let secretFile = t.string("secret_file")
            let caFile = t.absolutePath("ca_file")
            t.finish()
            if let url { settings.webhook = WebhookSettings(url: url, secretFile: secretFile, caFile: caFile) }
        }
        if var t = notify.table("ses") {
            let (from, to) = readAddresses(&t)
            let region = t.string("region")
            let endpointURL = t.string("endpoint_url")
            if let endpointURL, !(endpointURL.hasPrefix("https://") || endpointURL.hasPrefix("http://")) {
                t.error("endpoint_url", "'endpoint_url' must be an http:// or https:// URL")
            }
            let configurationSet = t.string("configuration_set")
            t.finish()
            if let from {
                settings.ses = SESSettings(from: from, to: to, region: region, endpointURL: endpointURL, configurationSet: configurationSet)
            }
        }
        if var t = notify.table("maildir") {
            settings.maildir = t.absolutePath("path")
            t.finish()
        }
        notify.finish()
        return settings
    }
}

extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
