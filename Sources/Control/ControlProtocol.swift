import FinetunedTime
import Foundation

/// The control socket's wire format: one JSON request line from the client, one JSON
/// response line from the daemon (streaming verbs answer with several lines).
///
/// `version` is the protocol's major version. A daemon refuses a request of another major
/// version with `unsupported_version` instead of guessing, so an old `finetunectl` against a
/// new daemon fails with a clear message rather than misreading fields. Fields are only ever
/// added within a major version; decoders ignore unknown ones.
public enum ControlProtocol {
    public static let version = 1
    /// Requests and responses larger than this are refused: nothing legitimate comes close.
    public static let maximumLineBytes = 4 << 20
    public static let socketName = "control.sock"
}

public struct ControlRequest: Codable, Sendable, Equatable {
    public var version: Int
    public var verb: String
    public var arguments: [String: String]

    public init(verb: String, arguments: [String: String] = [:], version: Int = ControlProtocol.version) {
        self.version = version
        self.verb = verb
        self.arguments = arguments
    }
}

/// A failure the daemon reports; `code` is stable and machine-readable, `message` is for people.
public struct ControlFailure: Codable, Sendable, Equatable, Error {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public static func unknownVerb(_ verb: String, known: [String]) -> ControlFailure {
        ControlFailure(code: "unknown_verb", message: "unknown verb '\(verb)' (this daemon knows: \(known.joined(separator: ", ")))")
    }

    public static func unsupportedVersion(_ version: Int) -> ControlFailure {
        ControlFailure(
            code: "unsupported_version",
            message:
                "protocol version \(version) is not supported (daemon speaks version \(ControlProtocol.version)); use the finetunectl that came with this daemon"
        )
    }

    public static func badRequest(_ message: String) -> ControlFailure {
        ControlFailure(code: "bad_request", message: message)
    }
}

/// The envelope every response line has; `result` is the verb's own Codable value.
public struct ControlResponse<Result: Codable & Sendable>: Codable, Sendable {
    public var version: Int
    public var ok: Bool
    public var error: ControlFailure?
    public var result: Result?

    public init(result: Result) {
        self.version = ControlProtocol.version
        self.ok = true
        self.error = nil
        self.result = result
    }

    public init(failure: ControlFailure) {
        self.version = ControlProtocol.version
        self.ok = false
        self.error = failure
        self.result = nil
    }
}

/// Decodes only the envelope, to learn whether a response succeeded before decoding its result.
public struct ControlResponseHeader: Codable, Sendable {
    public var version: Int
    public var ok: Bool
    public var error: ControlFailure?
}

/// A result with nothing in it, for verbs that only succeed or fail.
public struct EmptyResult: Codable, Sendable, Equatable {
    public init() {}
}

extension JSONEncoder {
    /// The encoder both sides use: sorted keys make responses diffable and tests stable.
    public static var control: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .utcISO8601
        return encoder
    }
}

extension JSONDecoder {
    public static var control: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .utcISO8601
        return decoder
    }
}
