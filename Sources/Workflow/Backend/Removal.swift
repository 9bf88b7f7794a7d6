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

    public static func perform(_ body: () async throws(BackendError) -> Void) async throws(BackendError) -> Removal {
        do {
            try await body()
            return .removed
        } catch {
            if case .notFound(let detail) = error { return .alreadyGone(detail) }
            throw error
        }
    }
}
