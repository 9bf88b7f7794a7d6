import AdapterKit
import FinetunedAdapters
import FinetunedConfig
import FinetunedTestSupport
import Foundation
import Testing

/// The shipped adapters, loaded for real with dlopen from the libraries `swift build` made.
@Suite("Shipped adapter plugins")
struct ShippedAdapterTests {
    static func load(_ name: String) throws -> LoadedAdapter {
        try LoadedAdapter.load(path: BuiltProducts.adapterLibrary(name))
    }

    func spec(_ adapter: LoadedAdapter, _ model: String, _ name: String) throws -> HyperparameterSpec {
        try #require(adapter.description.model(model)?.hyperparameter(name), "\(model) has no \(name)")
    }

    @Test("cohere: Command and Light with the documented ranges, limits and Light's end of life")
    func cohere() throws {
        let cohere = try Self.load("cohere")
        #expect(cohere.name == "cohere")
        #expect(cohere.description.models.map(\.id) == ["cohere.command-text-v14:7:4k", "cohere.command-light-text-v14:7:4k"])
        let light = try #require(cohere.description.model("cohere.command-light-text-v14:7:4k"))
        #expect(light.inferenceID == "cohere.command-light-text-v14")
        #expect(light.record == .promptCompletion)
        #expect(light.limits.maxInputTokens == 4096 && light.limits.maxOutputTokens == 2048)
        #expect(light.limits.minTrainingRecords == 32 && light.limits.maxTrainingRecords == 10_000 && light.limits.maxValidationRecords == 1_000)
        #expect(light.lifecycle.status(on: "2024-10-03") == .active)
        #expect(light.lifecycle.status(on: "2024-10-04") == .legacy)
        #expect(light.lifecycle.status(on: "2025-08-12") == .endOfLife)
        let expected: [(String, HyperparameterType, Double, Double, JSONValue)] = [
            ("epochCount", .integer, 1, 100, 1), ("batchSize", .integer, 8, 32, 8),
            ("learningRate", .float, 0.000005, 0.1, 0.00001), ("earlyStoppingThreshold", .float, 0, 0.1, 0.01),
            ("earlyStoppingPatience", .integer, 1, 10, 6), ("evalPercentage", .float, 5, 50, 20),
        ]
        for (name, type, min, max, fallback) in expected {
            let s = try spec(cohere, light.id, name)
            #expect(s.type == type && s.minimum == min && s.maximum == max && s.defaultValue == fallback, "\(name)")
        }
        #expect(try spec(cohere, "cohere.command-text-v14:7:4k", "batchSize").maximum == 8)
    }

    @Test("llama: record format and token limit per generation, batch size fixed at 1")
    func llama() throws {
        let llama = try Self.load("llama")
        #expect(llama.description.models.count == 9)
        for model in llama.description.models {
            #expect(try spec(llama, model.id, "epochCount").maximum == 10)
            #expect(try spec(llama, model.id, "epochCount").defaultValue == 5)
            #expect(try spec(llama, model.id, "batchSize").minimum == 1 && spec(llama, model.id, "batchSize").maximum == 1)
            #expect(try spec(llama, model.id, "learningRate").defaultValue == 0.0001)
            #expect(model.limits.minTotalRecords == 100 && model.limits.maxTotalRecords == 10_000)
            let isConversation = model.id.hasPrefix("meta.llama3-2") || model.id.hasPrefix("meta.llama3-3")
            #expect(model.record == (isConversation ? .bedrockConversation : .promptCompletion), "\(model.id)")
        }
        #expect(llama.description.model("meta.llama3-2-90b-instruct-v1:0:128k")?.limits.maxTotalTokens == 10_000)
        #expect(llama.description.model("meta.llama3-3-70b-instruct-v1:0:128k")?.limits.maxTotalTokens == 16_000)
        #expect(llama.description.model("meta.llama3-1-8b-instruct-v1:0:128k")?.inferenceID == "meta.llama3-1-8b-instruct-v1:0")
        let l32 = try #require(llama.description.model("meta.llama3-2-1b-instruct-v1:0:128k"))
        #expect(l32.lifecycle.status(on: "2026-07-06") == .active && l32.lifecycle.status(on: "2026-07-07") == .endOfLife)
        #expect(llama.description.model("meta.llama2-13b-v1:0:4k")?.lifecycle.status(on: "2020-01-01") == .endOfLife)
    }

    @Test("titan: the token limit depends on batch size; 1 GB / 100 MB file limits")
    func titan() throws {
        let titan = try Self.load("titan")
        let lite = try #require(titan.description.model("amazon.titan-text-lite-v1:0:4k"))
        let express = try #require(titan.description.model("amazon.titan-text-express-v1:0:8k"))
        #expect(lite.limits.totalTokenLimit(batchSize: 1) == 4096)
        #expect(lite.limits.totalTokenLimit(batchSize: 2) == 4096)
        #expect(lite.limits.totalTokenLimit(batchSize: 3) == 2048)
        #expect(express.limits.totalTokenLimit(batchSize: 1) == 4096)
        #expect(express.limits.totalTokenLimit(batchSize: 2) == 2048)
        #expect(lite.limits.maxTrainingFileBytes == 1_000_000_000 && lite.limits.maxValidationFileBytes == 100_000_000)
        #expect(try spec(titan, lite.id, "batchSize").maximum == 64)
        #expect(try spec(titan, lite.id, "learningRateWarmupSteps").maximum == 250)
        #expect(try spec(titan, "amazon.titan-text-premier-v1:0:32k", "epochCount").maximum == 5)
        #expect(try spec(titan, "amazon.titan-text-premier-v1:0:32k", "learningRate").defaultValue == 0.000001)
        #expect(titan.description.models.allSatisfy { !$0.notes.isEmpty })
    }

    @Test("hyperparameters resolve to Bedrock's string map with defaults; errors name parameter, value and range")
    func hyperparameters() throws {
        let light = try #require(try Self.load("cohere").description.model("cohere.command-light-text-v14:7:4k"))
        let resolved = try HyperparameterResolution.resolve(["epochCount": .string("2"), "learningRate": .float(0.00002)], for: light)
        #expect(
            resolved == [
                "epochCount": "2", "batchSize": "8", "learningRate": "0.00002", "earlyStoppingThreshold": "0.01",
                "earlyStoppingPatience": "6", "evalPercentage": "20",
            ])
        do {
            _ = try HyperparameterResolution.resolve(
                ["epochCount": .integer(200), "batchSize": .float(8.5), "learningRate": .string("fast"), "epochs": .integer(1)], for: light)
            Issue.record("expected errors")
        } catch {
            #expect(
                error.problems.map(\.message) == [
                    "unknown hyperparameter 'epochs' for cohere.command-light-text-v14:7:4k (did you mean 'epochCount'?); known: epochCount, batchSize, learningRate, earlyStoppingThreshold, earlyStoppingPatience, evalPercentage",
                    "hyperparameter 'epochCount' = 200: 200 is above the maximum 100 (allowed 1...100, default 1) for cohere.command-light-text-v14:7:4k",
                    "hyperparameter 'batchSize' = 8.5: 8.5 is not a whole number (allowed 8...32, default 8) for cohere.command-light-text-v14:7:4k",
                    "hyperparameter 'learningRate' = fast: must be a number, not a string (allowed 5e-06...0.1, default 1e-05) for cohere.command-light-text-v14:7:4k",
                ])
        }
    }
}

@Suite("Adapter InvokeModel bodies")
struct InvokeBodyTests {
    @Test("cohere: request fields and generations[0].text with finish reasons")
    func cohere() throws {
        let cohere = try ShippedAdapterTests.load("cohere")
        let body = try cohere.buildInvokeRequest(
            InvokeRequest(
                model: "cohere.command-text-v14:7:4k", prompt: "Summarize: \"q3\"",
                parameters: InferenceParameters(maxTokens: 300, temperature: 0.2, topP: 0.9, topK: 40, stopSequences: ["END"])))
        #expect(body == #"{"k":40,"max_tokens":300,"p":0.9,"prompt":"Summarize: \"q3\"","stop_sequences":["END"],"temperature":0.2}"#)
        let result = try cohere.parseInvokeResponse(
            model: "cohere.command-text-v14:7:4k",
            body: #"""
                {"generations":[{"finish_reason":"MAX_TOKENS","id":"a1","text":" Revenue rose 4%."}],"id":"r1","prompt":"Summarize"}
                """#)
        #expect(result == InvokeResult(text: " Revenue rose 4%.", stopReason: .length, rawStopReason: "MAX_TOKENS"))
        let toxic = try cohere.parseInvokeResponse(model: "x", body: #"{"generations":[{"finish_reason":"ERROR_TOXIC","text":""}]}"#)
        #expect(toxic.stopReason == .contentFiltered)
        #expect(throws: AdapterCallError.self) { try cohere.parseInvokeResponse(model: "x", body: #"{"generations":[]}"#) }
        #expect(throws: AdapterCallError.self) { try cohere.parseInvokeResponse(model: "x", body: "not json") }
        do {
            _ = try cohere.buildInvokeRequest(
                InvokeRequest(model: "cohere.command-text-v14:7:4k", prompt: "x", parameters: InferenceParameters(temperature: 9)))
        } catch {
            #expect(
                error.description
                    == "adapter 'cohere' build_invoke_request: temperature = 9.0 is out of range 0.0...5.0 for cohere.command-text-v14:7:4k")
        }
    }

    @Test("llama: the chat template for 3.x instruct models, the raw prompt for Llama 2, token counts parsed")
    func llama() throws {
        let llama = try ShippedAdapterTests.load("llama")
        let instruct = try llama.buildInvokeRequest(
            InvokeRequest(
                model: "meta.llama3-1-8b-instruct-v1:0:128k", prompt: "Hi",
                parameters: InferenceParameters(maxTokens: 128, temperature: 0.5, topP: 0.9)))
        #expect(
            instruct
                == #"{"max_gen_len":128,"prompt":"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n","temperature":0.5,"top_p":0.9}"#
        )
        let base = try llama.buildInvokeRequest(InvokeRequest(model: "meta.llama2-13b-v1:0:4k", prompt: "Hi"))
        #expect(base == #"{"prompt":"Hi"}"#)
        #expect(throws: AdapterCallError.self) {
            try llama.buildInvokeRequest(
                InvokeRequest(model: "meta.llama2-13b-v1:0:4k", prompt: "Hi", parameters: InferenceParameters(stopSequences: ["x"])))
        }
        let result = try llama.parseInvokeResponse(
            model: "m", body: #"{"generation":"Hello.","prompt_token_count":12,"generation_token_count":3,"stop_reason":"stop"}"#)
        #expect(result == InvokeResult(text: "Hello.", stopReason: .complete, rawStopReason: "stop", inputTokens: 12, outputTokens: 3))
        let cut = try llama.parseInvokeResponse(model: "m", body: #"{"generation":"Hel","stop_reason":"length"}"#)
        #expect(cut.stopReason == .length && cut.inputTokens == nil)
        #expect(throws: AdapterCallError.self) { try llama.parseInvokeResponse(model: "m", body: #"{"outputs":[]}"#) }
    }

    @Test("titan: textGenerationConfig and results[0].outputText with completion reasons")
    func titan() throws {
        let titan = try ShippedAdapterTests.load("titan")
        let body = try titan.buildInvokeRequest(
            InvokeRequest(
                model: "amazon.titan-text-express-v1:0:8k", prompt: "Q",
                parameters: InferenceParameters(maxTokens: 512, temperature: 0, topP: 1, stopSequences: ["User:"])))
        #expect(body == #"{"inputText":"Q","textGenerationConfig":{"maxTokenCount":512,"stopSequences":["User:"],"temperature":0,"topP":1}}"#)
        let result = try titan.parseInvokeResponse(
            model: "m",
            body: #"""
                {"inputTextTokenCount":5,"results":[{"tokenCount":7,"outputText":"\nAnswer","completionReason":"FINISH"}]}
                """#)
        #expect(result == InvokeResult(text: "\nAnswer", stopReason: .complete, rawStopReason: "FINISH", inputTokens: 5, outputTokens: 7))
        let filtered = try titan.parseInvokeResponse(model: "m", body: #"{"results":[{"outputText":"","completionReason":"CONTENT_FILTERED"}]}"#)
        #expect(filtered.stopReason == .contentFiltered)
        #expect(throws: AdapterCallError.self) { try titan.parseInvokeResponse(model: "m", body: #"{"results":[{"tokenCount":1}]}"#) }
        #expect(throws: AdapterCallError.self) {
            try titan.buildInvokeRequest(
                InvokeRequest(model: "amazon.titan-text-express-v1:0:8k", prompt: "Q", parameters: InferenceParameters(topK: 5)))
        }
    }

    @Test("an unknown model is refused by name")
    func unknownModel() throws {
        let titan = try ShippedAdapterTests.load("titan")
        do {
            _ = try titan.buildInvokeRequest(InvokeRequest(model: "amazon.titan-text-ultra", prompt: "Q"))
            Issue.record("expected a refusal")
        } catch {
            #expect(
                error.description.hasPrefix(
                    "adapter 'titan' build_invoke_request: unknown model 'amazon.titan-text-ultra' (known: amazon.titan-text-lite-v1:0:4k"))
        }
    }
}
