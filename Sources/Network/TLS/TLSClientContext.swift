import CLibCrypto

/// A TLS client configuration on the system's OpenSSL: TLS 1.2 or newer, the peer's
/// certificate verified against the system's trust store or a CA file, and its name checked
/// against the host we meant to reach. There is no switch to turn verification off.
public final class TLSClientContext: @unchecked Sendable {
    let context: OpaquePointer

    /// - Parameter caFile: PEM certificates to trust instead of the system's store (a private
    ///   CA for an internal mail relay, or the test's own CA).
    public init(caFile: String? = nil) throws(TLSError) {
        // OpenSSL is opened on first use; a machine without it fails this connection, not the daemon.
        guard finetuned_tls_open() == 1 else { throw TLSError.openSSL(String(cString: finetuned_crypto_error())) }
        guard let context = ft_SSL_CTX_new(ft_TLS_client_method()) else { throw TLSError.failure("cannot create a TLS context") }
        self.context = context
        ft_SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        ft_SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if let caFile {
            guard ft_SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw TLSError.failure("cannot load the CA file \(caFile)")
            }
        } else if ft_SSL_CTX_set_default_verify_paths(context) != 1 {
            throw TLSError.failure("cannot load the system's trusted certificates")
        }
    }

    deinit { ft_SSL_CTX_free(context) }

    /// A connection object for `host`: SNI set, and the certificate must name `host`.
    func connection(host: String) throws(TLSError) -> OpaquePointer {
        guard let ssl = ft_SSL_new(context) else { throw TLSError.failure("cannot create a TLS connection") }
        guard ft_SSL_set1_host(ssl, host) == 1 else {
            ft_SSL_free(ssl)
            throw TLSError.failure("cannot set the expected host name \(host)")
        }
        // SNI, unless the host is an IP address (RFC 6066 forbids literal addresses there).
        if !host.allSatisfy({ $0.isNumber || $0 == "." || $0 == ":" }) {
            _ = host.withCString { ft_SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
        }
        ft_SSL_set_connect_state(ssl)
        return ssl
    }
}

public enum TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    case openSSL(String)
    /// The handshake failed; for a certificate problem, with OpenSSL's reason.
    case handshakeFailed(String)
    case closed

    public var description: String {
        switch self {
        case .openSSL(let message): "TLS: \(message)"
        case .handshakeFailed(let message): "TLS handshake failed: \(message)"
        case .closed: "TLS: the connection closed"
        }
    }

    /// A failure of an OpenSSL call, with OpenSSL's reasons read now: a description must not
    /// read (and empty) the queue each time it is printed.
    static func failure(_ message: String) -> TLSError { .openSSL(message + queuedErrors()) }

    /// OpenSSL's error queue as text (and emptied, so the next error starts clean). Empty when
    /// libcrypto could not be opened: the ft_ functions end the process without it.
    static func queuedErrors() -> String {
        guard finetuned_crypto_open() == 1 else { return "" }
        var messages: [String] = []
        while case let code = ft_ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ft_ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.isEmpty ? "" : " (" + messages.joined(separator: "; ") + ")"
    }
}
