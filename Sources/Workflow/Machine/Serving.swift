/// What serves a custom model while it is evaluated (and afterwards, when it is kept).
///
/// The machine's stages and actions name the provisioned throughput they were written for
/// (`throughputCreating`, `createThroughput`); with on-demand serving the same steps create,
/// poll and delete a custom model deployment instead, and the context's `throughputARN`
/// holds the deployment's ARN. Stage names are stored, so they stay as they are.
public enum Serving: String, Sendable, Codable, Equatable, CaseIterable {
    /// A provisioned throughput: one model unit, no commitment, billed by the hour.
    case provisioned
    /// A custom model deployment: billed per token, no hourly charge.
    case onDemand = "on_demand"

    /// The resource the serving steps create.
    public var resourceKind: ResourceRecord.Kind {
        switch self {
        case .provisioned: .throughput
        case .onDemand: .deployment
        }
    }

    /// "provisioned throughput", "custom model deployment".
    public var words: String { resourceKind.words }
}

extension WorkflowContext {
    /// How this workflow serves its custom model; workflows stored before there was a choice
    /// used a provisioned throughput.
    public var serving: Serving { spec?.serving ?? .provisioned }

    /// Whether a kept model keeps what serves it. A deployment costs nothing while idle; a
    /// throughput bills by the hour, but keeping it is what a kept model meant before the
    /// profile could say `keep = "model_only"`.
    public var keepsServing: Bool { spec?.keepServing ?? true }
}
