import AdapterKit
import FinetunedAdapters
import FinetunedWorkflow

/// The engine's `InvocationCodec` over an adapter plugin's C functions.
///
/// Converse where the model's description says so (ABI 1.1), InvokeModel otherwise.
struct AdapterCodec: InvocationCodec {
    let adapter: LoadedAdapter
    let baseModel: String
    let parameters: InferenceParameters

    private var invokeAPI: InvokeAPI { adapter.description.model(baseModel)?.serving.invokeAPI ?? .invokeModel }

    var api: InvocationAPI { invokeAPI == .converse ? .converse : .invokeModel }

    func requestBody(prompt: String) throws -> String {
        try adapter.buildInvokeRequest(InvokeRequest(model: baseModel, prompt: prompt, parameters: parameters, api: invokeAPI))
    }

    func response(body: String) throws -> InvocationResponse {
        let result = try adapter.parseInvokeResponse(model: baseModel, body: body, api: invokeAPI)
        return InvocationResponse(text: result.text, inputTokens: result.inputTokens, outputTokens: result.outputTokens)
    }
}
