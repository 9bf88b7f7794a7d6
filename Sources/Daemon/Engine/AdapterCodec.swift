import AdapterKit
import FinetunedAdapters
import FinetunedWorkflow

/// The engine's `InvocationCodec` over an adapter plugin's C functions.
struct AdapterCodec: InvocationCodec {
    let adapter: LoadedAdapter
    let baseModel: String
    let parameters: InferenceParameters

    func requestBody(prompt: String) throws -> String {
        try adapter.buildInvokeRequest(InvokeRequest(model: baseModel, prompt: prompt, parameters: parameters))
    }

    func responseText(body: String) throws -> String {
        try adapter.parseInvokeResponse(model: baseModel, body: body).text
    }
}
