import FinetunedText
import Foundation
import NIOCore
import NIOSSL
import NIOTLS

/// TLS for every connection the daemon opens, from swift-nio-ssl: TLS 1.2 or newer, the
/// peer's certificate verified against the system's trust store or a CA file, and its name
/// checked against the host we meant to reach. There is no switch to turn verification off.
enum ClientTLS {
    /// - Parameter caFile: PEM certificates to trust instead of the system's store (a private
    ///   CA for an internal mail relay, or the tests' own CA). Read now, so a missing or
    ///   unreadable file is named as such rather than as a failed handshake.
    static func configuration(caFile: String?) throws(Failure) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        if let caFile {
            do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) } catch {
                throw Failure(.tls, "cannot load the CA file \(caFile): \(error)")
            }
        }
        return tls
    }

    static func context(caFile: String?) throws(Failure) -> NIOSSLContext {
        let configuration = try configuration(caFile: caFile)
        do { return try NIOSSLContext(configuration: configuration) } catch {
            throw Failure(.tls, "cannot set up TLS: \(error)")
        }
    }

    /// The handler for a connection to `host`. A name is sent as SNI and must be on the
    /// certificate; an IP address (which RFC 6066 keeps out of SNI) is checked against the
    /// certificate's addresses instead.
    static func handler(context: NIOSSLContext, host: String) throws(Failure) -> NIOSSLClientHandler {
        let literal = host.allSatisfy { $0.isHexDigit || $0 == "." || $0 == ":" } && host.contains { $0 == "." || $0 == ":" }
        do { return try NIOSSLClientHandler(context: context, serverHostname: literal ? nil : host) } catch {
            throw Failure(.tls, "cannot start TLS with \(host): \(error)")
        }
    }

    /// The text of a TLS failure (a handshake refused, a certificate not trusted or for
    /// another name), or nil when `error` did not come from TLS. BoringSSL's reasons come as
    /// words ("certificate verify failed"), without the library's file names and codes.
    static func failure(_ error: any Error) -> String? {
        switch error {
        case let error as Failure where error.kind == .tls: error.description
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            "TLS handshake failed: hostname mismatch, the certificate is for another host (\(error))"
        case let error as NIOSSLExtraError: "TLS: \(error)"
        case NIOSSLError.handshakeFailed(let reason): "TLS handshake failed: " + reasons(reason)
        case let error as NIOSSLError: "TLS: \(error)"
        case let error as BoringSSLError: "TLS: " + reasons(error)
        default: nil
        }
    }

    /// `error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at …` becomes
    /// `certificate verify failed`.
    static func reasons(_ error: BoringSSLError) -> String {
        guard case .sslError(let stack) = error, !stack.isEmpty else { return "\(error)" }
        return stack.map { entry in
            let text = entry.description
            let head = text.range(of: " at ").map { String(text[..<$0.lowerBound]) } ?? text
            let reason = head.split(separator: ":").last.map(String.init) ?? ""
            return reason.isEmpty ? text : reason.lowercased().replacingOccurrences(of: "_", with: " ")
        }.joined(separator: "; ")
    }
}

/// Completes a promise when the TLS handshake in front of it finishes, or fails it with the
/// handshake's error: SMTP's STARTTLS must not send a byte more until then.
final class TLSHandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    private let promise: EventLoopPromise<Void>
    /// A promise is completed once; what comes after the first outcome only passes through.
    private var completed = false

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { complete(.success(())) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        complete(.failure(error))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(.failure(Failure(.tls, "the connection closed during the TLS handshake")))
        context.fireChannelInactive()
    }

    private func complete(_ result: Result<Void, any Error>) {
        guard !completed else { return }
        completed = true
        promise.completeWith(result)
    }
}
