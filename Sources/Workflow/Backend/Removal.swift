/// What stopping or deleting a resource found at the service.
///
/// "Not found" is not a failure here: the resource was removed before (by this workflow
/// before a crash, or by a person), and retrying a removal the service cannot perform only
/// ends in a `cleanup_stuck` alarm for something that costs nothing. Backends report it as
/// `.notFound`; the engine and the janitor decide what it means.
public enum Removal: Sendable, Equatable {
    case removed
    /// The service does not know it, in its own words.
    case alreadyGone(String)
}

extension CustomizationBackend {
    /// Stops a job, or deletes a throughput or custom model: the removal each kind takes.
    /// Training data has none here: it bills nothing by the hour, and the janitor never
    /// counts it as a leftover (`Janitor.isLeftover`).
    public func remove(_ kind: ResourceRecord.Kind, _ identifier: String) async throws(BackendError) -> Removal {
        do {
            switch kind {
            case .job: try await stopJob(identifier)
            case .throughput: try await deleteThroughput(identifier)
            case .deployment: try await deleteDeployment(identifier)
            case .customModel: try await deleteCustomModel(identifier)
            case .trainingData: break
            }
            return .removed
        } catch {
            if case .notFound(let detail) = error { return .alreadyGone(detail) }
            throw error
        }
    }
}
