import Foundation

/// What the control server asks of the daemon: one answer per request.
///
/// The answer is a list of already-encoded JSON lines so that the server stays ignorant of
/// verbs; a streaming verb (`watch`) answers with an `AsyncStream` of lines instead.
public protocol ControlRequestHandler: Sendable {
    func handle(_ request: ControlRequest, peer: ControlPeer) async -> ControlAnswer
}

public enum ControlAnswer: Sendable {
    case line(String)
    case stream(AsyncStream<String>)

    /// Encodes a successful result or a failure into one response line.
    public static func result<R: Codable & Sendable>(_ result: R) -> ControlAnswer {
        .line(ControlAnswer.encode(ControlResponse(result: result)))
    }

    /// A success whose result is already-serialized JSON (documents whose schema is defined
    /// elsewhere, such as the adapter description of the plugin ABI).
    public static func rawResult(json: String) -> ControlAnswer {
        .line(#"{"ok":true,"result":\#(json),"version":\#(ControlProtocol.version)}"#)
    }

    public static func failure(_ failure: ControlFailure) -> ControlAnswer {
        .line(ControlAnswer.encode(ControlResponse<EmptyResult>(failure: failure)))
    }

    public static func encode<R: Codable & Sendable>(_ response: ControlResponse<R>) -> String {
        do {
            return String(decoding: try JSONEncoder.control.encode(response), as: UTF8.self)
        } catch {
            return #"{"error":{"code":"internal","message":"response could not be encoded"},"ok":false,"version":\#(ControlProtocol.version)}"#
        }
    }
}

/// Who is asking, from the socket's `SO_PEERCRED`: verbs that change state can log it.
public struct ControlPeer: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "pid \(pid) uid \(uid)" }
}
