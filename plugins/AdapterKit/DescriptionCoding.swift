/// The `describe` document: how each description type reads and writes itself as JSON, and
/// the consistency rules the host enforces on what a plugin declares.
extension AdapterDescription {
    public func json() -> JSONValue {
        [
            "abi": .number(Double(AdapterABI.major)), "name": .string(name), "version": .string(version),
            "description": .string(summary), "models": .array(models.map { $0.json() }),
        ]
    }

    public init(json: JSONValue) throws(DescriptionError) {
        let r = try JSONObjectReader(json)
        name = try r.string("name")
        guard Self.isValidName(name) else {
            throw r.error("name", "'\(name)' is not a valid adapter name (lower-case letters, digits, '-', '_'; 1 to 32)")
        }
        version = try r.string("version")
        summary = try r.optionalString("description") ?? ""
        var seen: Set<String> = []
        models = []
        let readers = try r.objects("models")
        guard !readers.isEmpty else { throw r.error("models", "must declare at least one model") }
        for reader in readers {
            let model = try ModelDescription(reader: reader)
            guard seen.insert(model.id).inserted else { throw reader.error("id", "duplicate model id '\(model.id)'") }
            models.append(model)
        }
    }

    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...32).contains(bytes.count) else { return false }
        return bytes.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
        } && bytes[0] != UInt8(ascii: "-") && bytes[0] != UInt8(ascii: "_")
    }
}

extension ModelDescription {
    public func json() -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "display_name": .string(displayName), "inference_id": .string(inferenceID),
            "lifecycle": lifecycle.json(), "record": record.json(), "limits": limits.json(),
            "hyperparameters": .array(hyperparameters.map { $0.json() }),
            "notes": .array(notes.map { .string($0) }),
        ]
        if let prices { object["prices"] = prices.json() }
        object["serving"] = serving.json()
        return .object(object)
    }

    init(reader r: JSONObjectReader) throws(DescriptionError) {
        id = try r.string("id")
        guard !id.isEmpty else { throw r.error("id", "must not be empty") }
        displayName = try r.optionalString("display_name") ?? id
        inferenceID = try r.string("inference_id")
        lifecycle = try r.object("lifecycle").map { (l) throws(DescriptionError) in try ModelLifecycle(reader: l) } ?? ModelLifecycle()
        guard let recordReader = try r.object("record") else { throw r.error("record", "is required") }
        record = try RecordSchema(reader: recordReader)
        guard let limitsReader = try r.object("limits") else { throw r.error("limits", "is required") }
        limits = try DataLimits(reader: limitsReader)
        hyperparameters = []
        var names: Set<String> = []
        for reader in try r.objects("hyperparameters") {
            let spec = try HyperparameterSpec(reader: reader)
            guard names.insert(spec.name).inserted else { throw reader.error("name", "duplicate hyperparameter '\(spec.name)'") }
            hyperparameters.append(spec)
        }
        prices = try r.object("prices").map { (p) throws(DescriptionError) in try Prices(reader: p) }
        notes = try r.strings("notes")
        // Absent from plugins built before ABI 1.1: the defaults are what the host assumed then.
        serving = try r.object("serving").map { (s) throws(DescriptionError) in try ServingFacts(reader: s) } ?? ServingFacts()
    }
}

extension ServingFacts {
    func json() -> JSONValue {
        [
            "customizations": .array(customizations.map { .string($0.rawValue) }), "on_demand": .bool(onDemand),
            "invoke_api": .string(invokeAPI.rawValue), "teachers": .array(teachers.map { .string($0) }),
            "validation_data": .bool(validationData), "distillation_single_turn": .bool(distillationSingleTurn),
        ]
    }

    init(reader r: JSONObjectReader) throws(DescriptionError) {
        customizations = []
        for name in try r.strings("customizations") {
            guard let kind = CustomizationKind(rawValue: name) else {
                throw r.error(
                    "customizations", "unknown customization '\(name)' (known: \(CustomizationKind.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            customizations.append(kind)
        }
        if customizations.isEmpty { customizations = [.fineTuning] }
        onDemand = try r.bool("on_demand", default: false)
        let api = try r.optionalString("invoke_api") ?? InvokeAPI.invokeModel.rawValue
        guard let invokeAPI = InvokeAPI(rawValue: api) else { throw r.error("invoke_api", "must be invoke_model or converse, not '\(api)'") }
        self.invokeAPI = invokeAPI
        teachers = try r.strings("teachers")
        if !teachers.isEmpty && !customizations.contains(.distillation) {
            throw r.error("teachers", "lists teachers, but the model takes no distillation")
        }
        validationData = try r.bool("validation_data", default: true)
        distillationSingleTurn = try r.bool("distillation_single_turn", default: false)
    }
}

extension ModelLifecycle {
    func json() -> JSONValue {
        var object: [String: JSONValue] = [:]
        if let legacyDate { object["legacy_date"] = .string(legacyDate) }
        if let endOfLifeDate { object["end_of_life_date"] = .string(endOfLifeDate) }
        if let reportedStatus { object["reported_status"] = .string(reportedStatus.rawValue) }
        return .object(object)
    }

    init(reader r: JSONObjectReader) throws(DescriptionError) {
        legacyDate = try r.optionalString("legacy_date")
        endOfLifeDate = try r.optionalString("end_of_life_date")
        reportedStatus = nil
        if let reported = try r.optionalString("reported_status") {
            guard let status = LifecycleStatus(rawValue: reported) else {
                throw r.error("reported_status", "must be active, legacy or end_of_life")
            }
            reportedStatus = status
        }
        for (key, date) in [("legacy_date", legacyDate), ("end_of_life_date", endOfLifeDate)] {
            if let date, !Self.isISODate(date) { throw r.error(key, "'\(date)' is not a date of the form YYYY-MM-DD") }
        }
        if let legacyDate, let endOfLifeDate, legacyDate > endOfLifeDate {
            throw r.error("legacy_date", "comes after end_of_life_date")
        }
    }

    static func isISODate(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return false }
        let digits = [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy { b[$0] >= UInt8(ascii: "0") && b[$0] <= UInt8(ascii: "9") }
        guard digits, let month = Int(String(decoding: b[5...6], as: UTF8.self)), let day = Int(String(decoding: b[8...9], as: UTF8.self)) else {
            return false
        }
        return (1...12).contains(month) && (1...31).contains(day)
    }
}

extension RecordSchema {
    func json() -> JSONValue {
        var object: [String: JSONValue] = ["format": .string(format.rawValue)]
        if format == .fields {
            object["fields"] = .array(
                fields.map {
                    [
                        "name": .string($0.name), "type": .string($0.type.rawValue), "required": .bool($0.required),
                        "non_empty": .bool($0.nonEmpty), "counts_as": .string($0.countsAs.rawValue),
                    ]
                })
        }
        if let conversation {
            var c: [String: JSONValue] = [
                "schema_version": .string(conversation.schemaVersion), "system_allowed": .bool(conversation.systemAllowed),
                "first_role": .string(conversation.firstRole), "last_role": .string(conversation.lastRole),
                "any_schema_version": .bool(conversation.anySchemaVersion),
                "reserved_strings": .array(conversation.reservedStrings.map { .string($0) }),
                "reasoning_content": .bool(conversation.reasoningContent),
            ]
            if let media = conversation.media {
                c["media"] = [
                    "image_formats": .array(media.imageFormats.map { .string($0) }), "max_images": .number(Double(media.maxImagesPerRecord)),
                    "video_formats": .array(media.videoFormats.map { .string($0) }), "max_videos": .number(Double(media.maxVideosPerRecord)),
                ]
            }
            object["conversation"] = .object(c)
        }
        return .object(object)
    }

    init(reader r: JSONObjectReader) throws(DescriptionError) {
        let formatText = try r.string("format")
        guard let format = Format(rawValue: formatText) else {
            throw r.error("format", "unknown record format '\(formatText)' (known: fields, conversation)")
        }
        self.format = format
        fields = []
        conversation = nil
        switch format {
        case .fields:
            for f in try r.objects("fields") {
                let typeText = try f.string("type")
                guard let type = JSONType(rawValue: typeText) else { throw f.error("type", "unknown JSON type '\(typeText)'") }
                let roleText = try f.optionalString("counts_as") ?? "none"
                guard let role = TokenRole(rawValue: roleText) else { throw f.error("counts_as", "must be input, output or none") }
                if role != .none && type != .string { throw f.error("counts_as", "only string fields count towards tokens") }
                fields.append(
                    RecordField(
                        name: try f.string("name"), type: type, required: try f.bool("required", default: true),
                        nonEmpty: try f.bool("non_empty", default: type == .string), countsAs: role))
            }
            guard !fields.isEmpty else { throw r.error("fields", "must declare at least one field") }
        case .conversation:
            guard let c = try r.object("conversation") else { throw r.error("conversation", "is required for the conversation format") }
            var media: MediaRules?
            if let m = try c.object("media") {
                let images = try m.optionalInteger("max_images") ?? 0, videos = try m.optionalInteger("max_videos") ?? 0
                guard images >= 0, videos >= 0 else { throw m.error("max_images", "counts must not be negative") }
                media = MediaRules(
                    imageFormats: try m.strings("image_formats"), maxImagesPerRecord: images,
                    videoFormats: try m.strings("video_formats"), maxVideosPerRecord: videos)
            }
            let reserved = try c.strings("reserved_strings")
            if reserved.contains(where: \.isEmpty) { throw c.error("reserved_strings", "must not contain an empty string") }
            conversation = ConversationSchema(
                schemaVersion: try c.string("schema_version"), anySchemaVersion: try c.bool("any_schema_version", default: false),
                systemAllowed: try c.bool("system_allowed", default: true),
                firstRole: try c.optionalString("first_role") ?? "user", lastRole: try c.optionalString("last_role") ?? "assistant",
                reservedStrings: reserved, media: media, reasoningContent: try c.bool("reasoning_content", default: false))
        }
    }
}

extension DataLimits {
    func json() -> JSONValue {
        var object: [String: JSONValue] = ["characters_per_token": .number(charactersPerToken)]
        let optionals: [(String, Int?)] = [
            ("max_input_tokens", maxInputTokens), ("max_output_tokens", maxOutputTokens), ("max_total_tokens", maxTotalTokens),
            ("min_training_records", minTrainingRecords), ("max_training_records", maxTrainingRecords),
            ("max_validation_records", maxValidationRecords), ("min_total_records", minTotalRecords),
            ("max_total_records", maxTotalRecords), ("max_training_file_bytes", maxTrainingFileBytes),
            ("max_validation_file_bytes", maxValidationFileBytes),
        ]
        for (key, value) in optionals { if let value { object[key] = .number(Double(value)) } }
        if !totalTokensByBatchSize.isEmpty {
            object["total_tokens_by_batch_size"] = .array(
                totalTokensByBatchSize.map {
                    ["max_batch_size": .number(Double($0.maxBatchSize)), "max_total_tokens": .number(Double($0.maxTotalTokens))]
                })
        }
        return .object(object)
    }

    init(reader r: JSONObjectReader) throws(DescriptionError) {
        charactersPerToken = try r.optionalNumber("characters_per_token") ?? 6
        guard charactersPerToken > 0 else { throw r.error("characters_per_token", "must be positive") }
        func positive(_ key: String) throws(DescriptionError) -> Int? {
            guard let value = try r.optionalInteger(key) else { return nil }
            guard value > 0 else { throw r.error(key, "must be positive, not \(value)") }
            return value
        }
        maxInputTokens = try positive("max_input_tokens")
        maxOutputTokens = try positive("max_output_tokens")
        maxTotalTokens = try positive("max_total_tokens")
        minTrainingRecords = try positive("min_training_records")
        maxTrainingRecords = try positive("max_training_records")
        maxValidationRecords = try positive("max_validation_records")
        minTotalRecords = try positive("min_total_records")
        maxTotalRecords = try positive("max_total_records")
        maxTrainingFileBytes = try positive("max_training_file_bytes")
        maxValidationFileBytes = try positive("max_validation_file_bytes")
        totalTokensByBatchSize = []
        for rule in try r.objects("total_tokens_by_batch_size", required: false) {
            totalTokensByBatchSize.append(
                BatchTokenLimit(
                    maxBatchSize: try rule.integer("max_batch_size"), maxTotalTokens: try rule.integer("max_total_tokens")))
        }
        if let min = minTrainingRecords, let max = maxTrainingRecords, min > max {
            throw r.error("min_training_records", "\(min) exceeds max_training_records \(max)")
        }
        if let min = minTotalRecords, let max = maxTotalRecords, min > max {
            throw r.error("min_total_records", "\(min) exceeds max_total_records \(max)")
        }
    }
}

extension HyperparameterSpec {
    func json() -> JSONValue {
        var object: [String: JSONValue] = ["name": .string(name), "type": .string(type.rawValue), "description": .string(summary)]
        if let minimum { object["min"] = .number(minimum) }
        if let maximum { object["max"] = .number(maximum) }
        if let defaultValue { object["default"] = defaultValue }
        if !allowedValues.isEmpty { object["allowed_values"] = .array(allowedValues.map { .string($0) }) }
        if let recordsPerSuggestedUnit { object["records_per_suggested_unit"] = .number(Double(recordsPerSuggestedUnit)) }
        return .object(object)
    }

    init(reader r: JSONObjectReader) throws(DescriptionError) {
        name = try r.string("name")
        guard !name.isEmpty else { throw r.error("name", "must not be empty") }
        let typeText = try r.string("type")
        guard let type = HyperparameterType(rawValue: typeText) else {
            throw r.error("type", "unknown type '\(typeText)' (known: integer, float, boolean, string)")
        }
        self.type = type
        summary = try r.optionalString("description") ?? ""
        minimum = try r.optionalNumber("min")
        maximum = try r.optionalNumber("max")
        allowedValues = try r.strings("allowed_values")
        defaultValue = r.value("default")
        recordsPerSuggestedUnit = try r.optionalInteger("records_per_suggested_unit")
        if let unit = recordsPerSuggestedUnit, unit <= 0 { throw r.error("records_per_suggested_unit", "must be positive") }
        if let minimum, let maximum, minimum > maximum {
            throw r.error("min", "\(JSONValue.format(minimum)) exceeds max \(JSONValue.format(maximum))")
        }
        if let defaultValue {
            if let problem = HyperparameterSpec.problem(with: defaultValue, type: type, minimum: minimum, maximum: maximum, allowed: allowedValues) {
                throw r.error("default", problem)
            }
        }
    }

    /// Why `value` is not acceptable for a parameter of this type and range, or nil.
    public static func problem(with value: JSONValue, type: HyperparameterType, minimum: Double?, maximum: Double?, allowed: [String]) -> String? {
        switch (type, value) {
        case (.integer, .number(let d)):
            guard value.intValue != nil else { return "\(JSONValue.format(d)) is not a whole number" }
        case (.float, .number): break
        case (.boolean, .bool): return nil
        case (.string, .string(let s)):
            if !allowed.isEmpty && !allowed.contains(s) { return "'\(s)' is not one of \(allowed.joined(separator: ", "))" }
            return nil
        default:
            return
                "must be \(type == .integer ? "an integer" : type == .float ? "a number" : type == .boolean ? "true or false" : "a string"), not \(value.kindName)"
        }
        let d = value.doubleValue!
        if let minimum, d < minimum { return "\(JSONValue.format(d)) is below the minimum \(JSONValue.format(minimum))" }
        if let maximum, d > maximum { return "\(JSONValue.format(d)) is above the maximum \(JSONValue.format(maximum))" }
        return nil
    }
}

extension Prices {
    func json() -> JSONValue {
        var object: [String: JSONValue] = ["as_of": .string(asOf), "currency": .string(currency)]
        if let trainingPerThousandTokens { object["training_per_1k_tokens"] = .number(trainingPerThousandTokens) }
        if let storagePerMonth { object["storage_per_month"] = .number(storagePerMonth) }
        if let throughputPerModelUnitHour { object["throughput_per_model_unit_hour"] = .number(throughputPerModelUnitHour) }
        return .object(object)
    }

    init(reader r: JSONObjectReader) throws(DescriptionError) {
        asOf = try r.string("as_of")
        guard ModelLifecycle.isISODate(asOf) else { throw r.error("as_of", "'\(asOf)' is not a date of the form YYYY-MM-DD") }
        currency = try r.optionalString("currency") ?? "USD"
        trainingPerThousandTokens = try r.optionalNumber("training_per_1k_tokens")
        storagePerMonth = try r.optionalNumber("storage_per_month")
        throughputPerModelUnitHour = try r.optionalNumber("throughput_per_model_unit_hour")
        for (key, value) in [
            ("training_per_1k_tokens", trainingPerThousandTokens), ("storage_per_month", storagePerMonth),
            ("throughput_per_model_unit_hour", throughputPerModelUnitHour),
        ] {
            if let value, value < 0 || !value.isFinite { throw r.error(key, "must be a non-negative number") }
        }
    }
}
