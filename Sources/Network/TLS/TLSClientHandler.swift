import CLibCrypto
import NIOCore

/// TLS for one client connection, as a channel handler: ciphertext below, plaintext above.
/// OpenSSL works on two memory BIOs, so all I/O stays NIO's; the handler only moves bytes
/// between the BIOs and the pipeline and drives the handshake.
///
/// Added at the front of a pipeline it can start TLS on a connection that is already open
/// (SMTP's STARTTLS). Plaintext written before the handshake finishes is held and sent after;
/// a handshake failure (an untrusted certificate, a wrong host name) closes the channel with
/// `TLSError.handshakeFailed` carrying OpenSSL's reason.
public final class TLSClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// Fired once the handshake completed, as a user event.
    public struct HandshakeCompleted: Sendable {}

    private enum State { case idle, handshaking, established, closed }

    private let ssl: OpaquePointer
    private let incoming: OpaquePointer
    private let outgoing: OpaquePointer
    private var state = State.idle
    private var pending: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private let handshakePromise: EventLoopPromise<Void>?

    /// - Parameter handshake: completed when the handshake succeeds, failed when it does not.
    public init(context: TLSClientContext, host: String, handshake: EventLoopPromise<Void>? = nil) throws(TLSError) {
        ssl = try context.connection(host: host)
        guard let incoming = ft_BIO_new(ft_BIO_s_mem()), let outgoing = ft_BIO_new(ft_BIO_s_mem()) else {
            ft_SSL_free(ssl)
            throw TLSError.failure("cannot create memory BIOs")
        }
        self.incoming = incoming
        self.outgoing = outgoing
        ft_SSL_set_bio(ssl, incoming, outgoing)
        handshakePromise = handshake
    }

    deinit { ft_SSL_free(ssl) }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startHandshake(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        startHandshake(context: context)
        context.fireChannelActive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var cipher = unwrapInboundIn(data)
        cipher.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = ft_BIO_write(incoming, bytes.baseAddress! + offset, Int32(bytes.count - offset))
                if written <= 0 { break }
                offset += Int(written)
            }
        }
        cipher.moveReaderIndex(to: cipher.writerIndex)
        switch state {
        case .handshaking: handshake(context: context)
        case .established: readPlaintext(context: context)
        case .idle, .closed: break
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let plain = unwrapOutboundIn(data)
        switch state {
        case .established: encrypt(plain, context: context, promise: promise)
        case .idle, .handshaking: pending.append((plain, promise))
        case .closed: promise?.fail(TLSError.closed)
        }
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if state == .established {
            ft_SSL_shutdown(ssl)
            flushCiphertext(context: context)
        }
        fail(TLSError.closed)
        context.close(mode: mode, promise: promise)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        fail(TLSError.closed)
        context.fireChannelInactive()
    }

    private func startHandshake(context: ChannelHandlerContext) {
        guard state == .idle else { return }
        state = .handshaking
        handshake(context: context)
    }

    private func handshake(context: ChannelHandlerContext) {
        let result = ft_SSL_do_handshake(ssl)
        flushCiphertext(context: context)
        if result == 1 {
            state = .established
            handshakePromise?.succeed(())
            context.fireUserInboundEventTriggered(HandshakeCompleted())
            let queued = pending
            pending = []
            for (plain, promise) in queued { encrypt(plain, context: context, promise: promise) }
            readPlaintext(context: context)
            return
        }
        let error = ft_SSL_get_error(ssl, result)
        if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return }
        let verify = ft_SSL_get_verify_result(ssl)
        let reason = verify != X509_V_OK
            ? "the server's certificate was not accepted: " + String(cString: ft_X509_verify_cert_error_string(verify))
            : "OpenSSL error \(error)" + TLSError.queuedErrors()
        let failure = TLSError.handshakeFailed(reason)
        fail(failure)
        context.fireErrorCaught(failure)
        context.close(promise: nil)
    }

    private func readPlaintext(context: ChannelHandlerContext) {
        var produced = false
        while true {
            var buffer = context.channel.allocator.buffer(capacity: 16384)
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 16384) { bytes in
                max(0, Int(ft_SSL_read(ssl, bytes.baseAddress, Int32(bytes.count))))
            }
            if count == 0 { break }
            produced = true
            context.fireChannelRead(wrapInboundOut(buffer))
        }
        // Reading can produce records to send (session tickets, alerts).
        flushCiphertext(context: context)
        if produced { context.fireChannelReadComplete() }
        if ft_SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN != 0 { context.close(promise: nil) }
    }

    private func encrypt(_ plain: ByteBuffer, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        var failed = false
        plain.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = ft_SSL_write(ssl, bytes.baseAddress! + offset, Int32(bytes.count - offset))
                if written <= 0 { failed = true; break }
                offset += Int(written)
            }
        }
        if failed {
            promise?.fail(TLSError.failure("cannot encrypt"))
            return
        }
        flushCiphertext(context: context, promise: promise)
    }

    /// Sends whatever OpenSSL has written into the outgoing BIO.
    private func flushCiphertext(context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        let waiting = Int(ft_BIO_ctrl_pending(outgoing))
        guard waiting > 0 else {
            promise?.succeed(())
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: waiting)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: waiting) { bytes in
            max(0, Int(ft_BIO_read(outgoing, bytes.baseAddress, Int32(waiting))))
        }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: promise)
    }

    private func fail(_ error: TLSError) {
        if state == .closed { return }
        if state != .established { handshakePromise?.fail(error) }
        state = .closed
        for (_, promise) in pending { promise?.fail(error) }
        pending = []
    }
}
