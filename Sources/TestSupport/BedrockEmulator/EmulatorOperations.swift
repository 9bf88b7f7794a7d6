import FinetunedNetwork
import Foundation

/// The control-plane and runtime operations, with the validation and idempotency rules of
/// the real service that the workflow depends on.
extension BedrockEmulator {
    static let tokenPattern = "^[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?$"
    static let jobNamePattern = "^[a-zA-Z0-9](-*[a-zA-Z0-9+.-])*$"
    static let modelNamePattern = "^([0-9a-zA-Z][_-]?){1,63}$"

    // MARK: Jobs

    func createJob(_ request: ReceivedRequest) -> ServerAction {
        guard let body = Self.body(request) else { return Self.error(400, "ValidationException", "the body is not JSON") }
        guard let name = body["jobName"] as? String, name.count <= 63, Self.matches(name, Self.jobNamePattern) else {
            return Self.error(400, "ValidationException", "1 validation error detected: Value at 'jobName' failed to satisfy constraint")
        }
        guard let modelName = body["customModelName"] as? String, Self.matches(modelName, Self.modelNamePattern) else {
            return Self.error(400, "ValidationException", "1 validation error detected: Value at 'customModelName' failed to satisfy constraint")
        }
        guard let token = body["clientRequestToken"] as? String, Self.matches(token, Self.tokenPattern) else {
            return Self.error(400, "ValidationException", "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint")
        }
        guard let role = body["roleArn"] as? String, role.hasPrefix("arn:") else {
            return Self.error(400, "ValidationException", "roleArn is required")
        }
        guard let base = body["baseModelIdentifier"] as? String,
            EmulatedFoundationModel.catalogue.contains(where: { $0.id == base || base.hasPrefix($0.id) })
        else {
            return Self.error(400, "ValidationException", "The provided base model identifier is not supported for customization.")
        }
        guard let training = (body["trainingDataConfig"] as? [String: Any])?["s3Uri"] as? String, training.hasPrefix("s3://"),
            let output = (body["outputDataConfig"] as? [String: Any])?["s3Uri"] as? String, output.hasPrefix("s3://")
        else {
            return Self.error(400, "ValidationException", "trainingDataConfig.s3Uri and outputDataConfig.s3Uri must be S3 URIs")
        }
        guard let hyper = body["hyperParameters"] as? [String: Any], hyper.values.allSatisfy({ $0 is String }) else {
            return Self.error(400, "ValidationException", "hyperParameters must map strings to strings")
        }
        // customizationType: one the base model supports; DISTILLATION names a teacher the
        // student may learn from, in customizationConfig.distillationConfig.teacherModelConfig.
        let type = body["customizationType"] as? String ?? "FINE_TUNING"
        let foundation = EmulatedFoundationModel.catalogue.first { $0.id == base || base.hasPrefix($0.id) }
        guard foundation?.customizations.contains(type) == true else {
            return Self.error(400, "ValidationException", "Customization type \(type) is not supported for \(base).")
        }
        var teacher: String?
        if type == "DISTILLATION" {
            guard let config = body["customizationConfig"] as? [String: Any], config.keys.count == 1,
                let distillation = config["distillationConfig"] as? [String: Any],
                let id = (distillation["teacherModelConfig"] as? [String: Any])?["teacherModelIdentifier"] as? String
            else {
                return Self.error(
                    400, "ValidationException", "DISTILLATION needs customizationConfig.distillationConfig.teacherModelConfig.teacherModelIdentifier")
            }
            guard EmulatedFoundationModel.teachers[base]?.contains(id) == true else {
                return Self.error(400, "ValidationException", "\(id) cannot be the teacher of \(base).")
            }
            teacher = id
        } else if body["customizationConfig"] != nil {
            return Self.error(400, "ValidationException", "customizationConfig is not used by \(type).")
        }
        if let same = jobs.first(where: { $0.token == token }) { return .json(201, Self.json(["jobArn": same.arn])) }
        if jobs.contains(where: { $0.name == name }) {
            return Self.error(400, "ValidationException", "The provided job name is currently in use.")
        }
        if models.contains(where: { $0.name == modelName }) || jobs.contains(where: { $0.customModelName == modelName }) {
            return Self.error(400, "ValidationException", "The provided custom model name is currently in use.")
        }
        let job = EmulatedJob(
            name: name, arn: "arn:aws:bedrock:\(region):\(account):model-customization-job/\(base)/\(nextID())", token: token,
            customModelName: modelName, baseModel: base, roleARN: role, trainingURI: training,
            validationURI: ((body["validationDataConfig"] as? [String: Any])?["validators"] as? [[String: Any]])?.first?["s3Uri"] as? String,
            outputURI: output,
            hyperParameters: hyper.compactMapValues { $0 as? String }, tags: Self.tags(body["jobTags"]), status: "InProgress",
            failureMessage: nil, outputModelARN: nil, polls: 0, customizationType: type, teacherModel: teacher)
        jobs.append(job)
        created(job.arn)
        return .json(201, Self.json(["jobArn": job.arn]))
    }

    func jobIndex(_ identifier: String) -> Int? {
        jobs.firstIndex { $0.arn == identifier || $0.name == identifier }
    }

    func getJob(_ identifier: String) async -> ServerAction {
        guard let index = jobIndex(identifier), !hidden(jobs[index].arn) else {
            return Self.error(404, "ResourceNotFoundException", "The specified job \(identifier) could not be found.")
        }
        jobs[index].polls += 1
        if jobs[index].status == "InProgress", jobs[index].polls >= jobPolls { await finish(index) }
        if jobs[index].status == "Stopping" { jobs[index].status = "Stopped" }
        let job = jobs[index]
        var object: [String: Any] = [
            "jobArn": job.arn, "jobName": job.name, "outputModelName": job.customModelName, "clientRequestToken": job.token,
            "roleArn": job.roleARN, "status": job.status, "creationTime": Self.timestamp(), "lastModifiedTime": Self.timestamp(),
            "baseModelArn": "arn:aws:bedrock:\(region)::foundation-model/\(job.baseModel)", "hyperParameters": job.hyperParameters,
            "trainingDataConfig": ["s3Uri": job.trainingURI], "outputDataConfig": ["s3Uri": job.outputURI],
            "validationDataConfig": ["validators": job.validationURI.map { [["s3Uri": $0]] } ?? []],
            "customizationType": "FINE_TUNING",
            "statusDetails": [
                "validationDetails": ["status": "Completed"], "dataProcessingDetails": ["status": "Completed"],
                "trainingDetails": ["status": job.status == "InProgress" ? "InProgress" : job.status],
            ],
        ]
        if let model = job.outputModelARN { object["outputModelArn"] = model }
        if let message = job.failureMessage { object["failureMessage"] = message }
        return .json(200, Self.json(object))
    }

    /// Ends a job: a custom model and its metric files when it completes.
    func finish(_ index: Int) async {
        if let message = faults.failJobsWith {
            jobs[index].status = "Failed"
            jobs[index].failureMessage = message
            return
        }
        let job = jobs[index]
        let model = EmulatedModel(
            name: job.customModelName,
            arn: "arn:aws:bedrock:\(region):\(account):custom-model/\(job.baseModel)/\(nextID())",
            baseModel: job.baseModel, jobARN: job.arn)
        models.append(model)
        created(model.arn)
        jobs[index].status = "Completed"
        jobs[index].outputModelARN = model.arn
        guard let store = artifactStore, let output = S3Location(uri: job.outputURI), let id = job.arn.split(separator: "/").last else { return }
        let root = output.appending("model-customization-job-\(id)")
        let epochs = Int(job.hyperParameters["epochCount"] ?? "2") ?? 2
        var steps = "step_number,epoch_number,training_loss,perplexity\n"
        var validation = "step_number,epoch_number,validation_loss,perplexity\n"
        for epoch in 0..<max(1, epochs) {
            for step in 0..<3 {
                let loss = 2.0 / Double(epoch + 1) - 0.1 * Double(step)
                steps += "\(epoch * 3 + step + 1),\(epoch),\(loss),\(exp(loss))\n"
            }
            let loss = 2.2 / Double(epoch + 1)
            validation += "\((epoch + 1) * 3),\(epoch),\(loss),\(exp(loss))\n"
        }
        _ = try? await store.putObject(root.appending("training_artifacts", "step_wise_training_metrics.csv"), body: Array(steps.utf8))
        _ = try? await store.putObject(
            root.appending("validation_artifacts", "post_fine_tuning_validation", "validation_metrics.csv"),
            body: Array(validation.utf8))
    }

    func stopJob(_ identifier: String) -> ServerAction {
        guard let index = jobIndex(identifier) else {
            return Self.error(404, "ResourceNotFoundException", "The specified job \(identifier) could not be found.")
        }
        guard jobs[index].status == "InProgress" else {
            return Self.error(400, "ValidationException", "The job \(jobs[index].name) is \(jobs[index].status) and cannot be stopped.")
        }
        jobs[index].status = "Stopping"
        return .json(200, "{}")
    }

    // MARK: Custom models

    func modelIndex(_ identifier: String) -> Int? {
        models.firstIndex { $0.arn == identifier || $0.name == identifier }
    }

    func getModel(_ identifier: String) -> ServerAction {
        guard let model = modelIndex(identifier).map({ models[$0] }), !hidden(model.arn) else {
            return Self.error(404, "ResourceNotFoundException", "The specified model \(identifier) could not be found.")
        }
        return .json(
            200,
            Self.json([
                "modelArn": model.arn, "modelName": model.name, "jobArn": model.jobARN, "modelStatus": "Active",
                "baseModelArn": "arn:aws:bedrock:\(region)::foundation-model/\(model.baseModel)",
                "creationTime": Self.timestamp(),
            ]))
    }

    func deleteModel(_ identifier: String) -> ServerAction {
        guard let index = modelIndex(identifier) else {
            return Self.error(404, "ResourceNotFoundException", "The specified model \(identifier) could not be found.")
        }
        if throughputs.contains(where: { $0.modelARN == models[index].arn }) {
            return Self.error(400, "ValidationException", "The model \(models[index].name) is in use by a provisioned throughput.")
        }
        if deployments.contains(where: { $0.modelARN == models[index].arn }) {
            return Self.error(400, "ValidationException", "The model \(models[index].name) is in use by a custom model deployment.")
        }
        deletedModels.append(models[index].arn)
        models.remove(at: index)
        return .json(200, "{}")
    }

    func getFoundationModel(_ identifier: String) -> ServerAction {
        guard
            let model = EmulatedFoundationModel.catalogue.first(where: {
                $0.id == identifier || identifier.hasPrefix($0.id) || $0.id.hasPrefix(identifier + ":")
            })
        else { return Self.error(404, "ResourceNotFoundException", "The model \(identifier) does not exist.") }
        return .json(
            200,
            Self.json([
                "modelDetails": [
                    "modelArn": "arn:aws:bedrock:\(region)::foundation-model/\(model.id)", "modelId": model.id, "providerName": model.provider,
                    "customizationsSupported": model.customizations, "modelLifecycle": ["status": model.lifecycle],
                    "inferenceTypesSupported": ["PROVISIONED"],
                ]
            ]))
    }

    // MARK: Provisioned throughput

    func createThroughput(_ request: ReceivedRequest) -> ServerAction {
        guard let body = Self.body(request), let name = body["provisionedModelName"] as? String, Self.matches(name, Self.modelNamePattern),
            let modelID = body["modelId"] as? String, let units = body["modelUnits"] as? Int, units >= 1
        else {
            return Self.error(400, "ValidationException", "provisionedModelName, modelId and modelUnits are required")
        }
        let token = body["clientRequestToken"] as? String ?? ""
        if !token.isEmpty, let same = throughputs.first(where: { $0.token == token }) {
            return .json(201, Self.json(["provisionedModelArn": same.arn]))
        }
        if throughputs.contains(where: { $0.name == name }) {
            return Self.error(400, "ValidationException", "The provided provisioned model name is currently in use.")
        }
        guard let model = modelIndex(modelID).map({ models[$0] }) else {
            return Self.error(404, "ResourceNotFoundException", "The specified model \(modelID) could not be found.")
        }
        if throughputs.count >= faults.throughputQuota {
            return Self.error(
                400, "ServiceQuotaExceededException",
                "You have exceeded the number of model units for no-commitment provisioned throughput. Request a quota increase.")
        }
        let throughput = EmulatedThroughput(
            name: name, arn: "arn:aws:bedrock:\(region):\(account):provisioned-model/\(nextID())", token: token,
            modelARN: model.arn, modelUnits: units, commitment: body["commitmentDuration"] as? String,
            tags: Self.tags(body["tags"]), status: "Creating", polls: 0)
        throughputs.append(throughput)
        created(throughput.arn)
        return .json(201, Self.json(["provisionedModelArn": throughput.arn]))
    }

    func throughputIndex(_ identifier: String) -> Int? {
        throughputs.firstIndex { $0.arn == identifier || $0.name == identifier }
    }

    func getThroughput(_ identifier: String) -> ServerAction {
        guard let index = throughputIndex(identifier), !hidden(throughputs[index].arn) else {
            return Self.error(404, "ResourceNotFoundException", "The specified provisioned model \(identifier) could not be found.")
        }
        throughputs[index].polls += 1
        if throughputs[index].status == "Creating", throughputs[index].polls >= throughputPolls { throughputs[index].status = "InService" }
        let t = throughputs[index]
        return .json(
            200,
            Self.json([
                "provisionedModelArn": t.arn, "provisionedModelName": t.name, "modelArn": t.modelARN, "desiredModelArn": t.modelARN,
                "modelUnits": t.modelUnits, "desiredModelUnits": t.modelUnits, "status": t.status,
                "creationTime": Self.timestamp(), "lastModifiedTime": Self.timestamp(),
            ]))
    }

    func deleteThroughput(_ identifier: String) -> ServerAction {
        guard let index = throughputIndex(identifier) else {
            return Self.error(404, "ResourceNotFoundException", "The specified provisioned model \(identifier) could not be found.")
        }
        deletedThroughputs.append(throughputs[index].arn)
        throughputs.remove(at: index)
        return .json(200, "{}")
    }

    // MARK: Custom model deployments (on-demand serving)

    func createDeployment(_ request: ReceivedRequest) -> ServerAction {
        guard let body = Self.body(request), let name = body["modelDeploymentName"] as? String, Self.matches(name, Self.modelNamePattern),
            let modelARN = body["modelArn"] as? String
        else {
            return Self.error(400, "ValidationException", "modelDeploymentName and modelArn are required")
        }
        let token = body["clientRequestToken"] as? String ?? ""
        if !token.isEmpty, let same = deployments.first(where: { $0.token == token }) {
            return .json(202, Self.json(["customModelDeploymentArn": same.arn]))
        }
        if deployments.contains(where: { $0.name == name }) {
            return Self.error(409, "ConflictException", "A custom model deployment named \(name) already exists.")
        }
        guard let model = modelIndex(modelARN).map({ models[$0] }) else {
            return Self.error(404, "ResourceNotFoundException", "The specified model \(modelARN) could not be found.")
        }
        guard EmulatedFoundationModel.catalogue.first(where: { model.baseModel.hasPrefix($0.id) })?.onDemand == true else {
            return Self.error(400, "ValidationException", "On-demand deployment is not supported for models customized from \(model.baseModel).")
        }
        let deployment = EmulatedDeployment(
            name: name, arn: "arn:aws:bedrock:\(region):\(account):custom-model-deployment/\(nextID())",
            token: token, modelARN: model.arn, tags: Self.tags(body["tags"]), status: "Creating", polls: 0)
        deployments.append(deployment)
        created(deployment.arn)
        return .json(202, Self.json(["customModelDeploymentArn": deployment.arn]))
    }

    func deploymentIndex(_ identifier: String) -> Int? {
        deployments.firstIndex { $0.arn == identifier || $0.name == identifier }
    }

    func getDeployment(_ identifier: String) -> ServerAction {
        guard let index = deploymentIndex(identifier), !hidden(deployments[index].arn) else {
            return Self.error(404, "ResourceNotFoundException", "The specified custom model deployment \(identifier) could not be found.")
        }
        deployments[index].polls += 1
        if deployments[index].status == "Creating", deployments[index].polls >= deploymentPolls {
            if let message = faults.failDeploymentsWith {
                deployments[index].status = "Failed"
                deployments[index].failureMessage = message
            } else {
                deployments[index].status = "Active"
            }
        }
        let d = deployments[index]
        var object: [String: Any] = [
            "customModelDeploymentArn": d.arn, "modelDeploymentName": d.name, "modelArn": d.modelARN, "status": d.status,
            "createdAt": Self.timestamp(), "lastUpdatedAt": Self.timestamp(),
        ]
        if let message = d.failureMessage { object["failureMessage"] = message }
        return .json(200, Self.json(object))
    }

    /// The list's summaries name the deployment `customModelDeploymentName` (Get says `modelDeploymentName`).
    func listDeployments(_ request: ReceivedRequest) -> ServerAction {
        let summaries: [[String: Any]] = deployments.map {
            [
                "customModelDeploymentArn": $0.arn, "customModelDeploymentName": $0.name, "modelArn": $0.modelARN, "status": $0.status,
                "createdAt": Self.timestamp(), "lastUpdatedAt": Self.timestamp(),
            ]
        }
        return .json(200, Self.json(["modelDeploymentSummaries": summaries]))
    }

    func deleteDeployment(_ identifier: String) -> ServerAction {
        guard let index = deploymentIndex(identifier) else {
            return Self.error(404, "ResourceNotFoundException", "The specified custom model deployment \(identifier) could not be found.")
        }
        deletedDeployments.append(deployments[index].arn)
        deployments.remove(at: index)
        return .json(200, "")
    }

    // MARK: Runtime

    /// InvokeModel in each family's shape, or (`converse`) Converse in its one shape.
    func invoke(_ modelID: String, _ request: ReceivedRequest, converse: Bool = false) async -> ServerAction {
        invocations[modelID, default: 0] += 1
        if converse { conversations[modelID, default: 0] += 1 }
        lastBodies[modelID] = request.text
        concurrentInvocations += 1
        peakConcurrentInvocations = max(peakConcurrentInvocations, concurrentInvocations)
        try? await Task.sleep(for: invokeLatency)
        concurrentInvocations -= 1
        let base: String
        let custom: Bool
        if let deployment = deploymentIndex(modelID).map({ deployments[$0] }) {
            guard deployment.status == "Active" else {
                return Self.error(400, "ValidationException", "The custom model deployment is not active (\(deployment.status)).")
            }
            base = models.first { $0.arn == deployment.modelARN }?.baseModel ?? ""
            custom = true
        } else if let throughput = throughputIndex(modelID).map({ throughputs[$0] }) {
            guard throughput.status == "InService" else {
                return Self.error(429, "ModelNotReadyException", "The model is not ready to serve requests.")
            }
            if faults.modelNotReady > 0 {
                faults.modelNotReady -= 1
                return Self.error(429, "ModelNotReadyException", "The model is not ready to serve requests.")
            }
            base = models.first { $0.arn == throughput.modelARN }?.baseModel ?? ""
            custom = true
        } else if let foundation = EmulatedFoundationModel.catalogue.first(where: { $0.inferenceID == modelID }) {
            base = foundation.id
            custom = false
        } else {
            return Self.error(400, "ValidationException", "The provided model identifier is invalid.")
        }
        let family = EmulatedFoundationModel.family(base)
        if converse {
            guard family == "nova" || base.hasPrefix("meta.llama3") else {
                return Self.error(400, "ValidationException", "This model doesn't support the Converse API.")
            }
            guard let body = Self.body(request), let messages = body["messages"] as? [[String: Any]], messages.first?["role"] as? String == "user",
                let prompt = (messages.first?["content"] as? [[String: Any]])?.compactMap({ $0["text"] as? String }).first
            else {
                return Self.error(400, "ValidationException", "Malformed Converse request: messages must start with a user turn holding text")
            }
            if let config = body["inferenceConfig"] as? [String: Any], let maxTokens = config["maxTokens"] as? Int, maxTokens < 1 {
                return Self.error(400, "ValidationException", "inferenceConfig.maxTokens must be at least 1")
            }
            let text = answer(prompt: prompt, custom: custom)
            let input = prompt.split(separator: " ").count, output = text.split(separator: " ").count
            return .json(
                200,
                Self.json([
                    "output": ["message": ["role": "assistant", "content": [["text": text]]]], "stopReason": "end_turn",
                    "usage": ["inputTokens": input, "outputTokens": output, "totalTokens": input + output], "metrics": ["latencyMs": 5],
                ]))
        }
        guard let body = Self.body(request), let prompt = Self.prompt(of: body, family: family) else {
            return Self.error(400, "ValidationException", "Malformed input request: the \(family) body needs \(Self.promptField(family))")
        }
        let text = answer(prompt: prompt, custom: custom)
        let words = text.split(separator: " ").count
        switch family {
        case "cohere":
            return .json(
                200, Self.json(["id": nextID(), "prompt": prompt, "generations": [["id": nextID(), "text": text, "finish_reason": "COMPLETE"]]]))
        case "meta":
            return .json(
                200,
                Self.json([
                    "generation": text, "prompt_token_count": prompt.split(separator: " ").count,
                    "generation_token_count": words, "stop_reason": "stop",
                ]))
        case "nova":
            let input = prompt.split(separator: " ").count
            return .json(
                200,
                Self.json([
                    "output": ["message": ["role": "assistant", "content": [["text": text]]]], "stopReason": "end_turn",
                    "usage": ["inputTokens": input, "outputTokens": words, "totalTokens": input + words], "metrics": ["latencyMs": 5],
                ]))
        default:
            return .json(
                200,
                Self.json([
                    "inputTextTokenCount": prompt.split(separator: " ").count,
                    "results": [["tokenCount": words, "outputText": text, "completionReason": "FINISH"]],
                ]))
        }
    }

    /// The prompt in a family's InvokeModel body: Nova's `messages-v1` holds it in the first
    /// user turn's text.
    static func prompt(of body: [String: Any], family: String) -> String? {
        switch family {
        case "titan": return body["inputText"] as? String
        case "nova":
            guard body["schemaVersion"] as? String == "messages-v1", let messages = body["messages"] as? [[String: Any]],
                messages.first?["role"] as? String == "user", let content = messages.first?["content"] as? [[String: Any]]
            else { return nil }
            return content.compactMap { $0["text"] as? String }.first
        default: return body["prompt"] as? String
        }
    }

    static func promptField(_ family: String) -> String {
        switch family {
        case "titan": "inputText"
        case "nova": "schemaVersion messages-v1 and a first user turn with text"
        default: "prompt"
        }
    }

    func answer(prompt: String, custom: Bool) -> String {
        let generic = prompt.split(whereSeparator: \.isWhitespace).prefix(12).joined(separator: " ")
        guard custom else { return generic }
        switch answers {
        case .same: return generic
        case .worse: return "The cafeteria menu changes every Tuesday and parking is free after six."
        case .better: return references.first { prompt.contains($0.prompt) }?.reference ?? generic
        }
    }

    // MARK: Control

    func control(_ request: ReceivedRequest) -> ServerAction {
        switch (request.method, request.path) {
        case ("GET", "/_emulator/state"):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            struct State: Encodable {
                var jobs: [EmulatedJob], throughputs: [EmulatedThroughput], models: [EmulatedModel]
                var deletedThroughputs: [String], deletedModels: [String], invocations: [String: Int], signatureFailures: Int
                var deployments: [EmulatedDeployment], deletedDeployments: [String], conversations: [String: Int]
            }
            let state = State(
                jobs: jobs, throughputs: throughputs, models: models, deletedThroughputs: deletedThroughputs,
                deletedModels: deletedModels, invocations: invocations, signatureFailures: signatureFailures,
                deployments: deployments, deletedDeployments: deletedDeployments, conversations: conversations)
            return .respond(status: 200, headers: [("Content-Type", "application/json")], body: Array((try? encoder.encode(state)) ?? Data()))
        case ("POST", "/_emulator/faults"):
            guard let faults = try? JSONDecoder().decode(EmulatorFaults.self, from: Data(request.body)) else { return .text(400, "bad faults") }
            self.faults = faults
            return .json(200, "{}")
        case ("POST", "/_emulator/answers"):
            guard let mode = EmulatedAnswers(rawValue: request.text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                return .text(400, "better, worse or same")
            }
            answers = mode
            return .json(200, "{}")
        default:
            return .text(404, "unknown control \(request.method) \(request.path)")
        }
    }
}
