import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Sends one message over SMTP (RFC 5321): implicit TLS (465) or STARTTLS (587) with the
/// server's certificate verified, AUTH PLAIN or LOGIN, dot-stuffed DATA, a deadline on every
/// reply. One connection per message: notifications are rare, and a fresh session cannot
/// inherit a half-failed transaction.
public struct SMTPClient: Sendable {
    public enum Security: String, Sendable { case starttls, tls, none }

    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var security: Security
        public var username: String?
        public var password: String?
        /// PEM certificates to trust instead of the system's.
        public var caFile: String?
        /// The name we give in EHLO.
        public var clientName: String
        public var timeout: Duration

        public init(
            host: String, port: Int, security: Security, username: String? = nil, password: String? = nil,
            caFile: String? = nil, clientName: String = ProcessInfo.processInfo.hostName, timeout: Duration = .seconds(30)
        ) {
            self.host = host
            self.port = port
            self.security = security
            self.username = username
            self.password = password
            self.caFile = caFile
            self.clientName = clientName
            self.timeout = timeout
        }
    }

    public let configuration: Configuration

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    /// Delivers `message` (RFC 5322 text with CRLF line ends) from `from` to `recipients`.
    public func send(from: String, to recipients: [String], message: String) async throws(SMTPError) {
        let tls: NIOSSLContext?
        do {
            tls = configuration.security == .none ? nil : try ClientTLS.context(caFile: configuration.caFile)
        } catch {
            throw .tls(error.description)
        }
        let session = try await SMTPSession.open(configuration, tls: tls)
        do {
            try await session.conversation(from: from, to: recipients, message: message)
            await session.close()
        } catch {
            await session.close()
            throw error
        }
    }

    /// `.` at the start of a line gets a second `.` (RFC 5321 §4.5.2); lines end in CRLF;
    /// the message ends with CRLF `.` CRLF.
    static func dataBlock(_ message: String) -> String {
        var lines = message.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n") + "\r\n.\r\n"
    }
}

/// One SMTP connection and its replies, in order.
final class SMTPSession: @unchecked Sendable {
    let channel: Channel
    let configuration: SMTPClient.Configuration
    let tls: NIOSSLContext?
    let startTLSWindow: StartTLSWindow
    private let replies: AsyncThrowingStream<SMTPReply, Error>
    private var iterator: AsyncThrowingStream<SMTPReply, Error>.AsyncIterator

    private init(
        channel: Channel, configuration: SMTPClient.Configuration, tls: NIOSSLContext?, startTLSWindow: StartTLSWindow,
        replies: AsyncThrowingStream<SMTPReply, Error>
    ) {
        self.startTLSWindow = startTLSWindow
        self.channel = channel
        self.configuration = configuration
        self.tls = tls
        self.replies = replies
        iterator = replies.makeAsyncIterator()
    }

    static func open(_ configuration: SMTPClient.Configuration, tls: NIOSSLContext?) async throws(SMTPError) -> SMTPSession {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: SMTPReply.self)
        // Implicit TLS: the handler is made on the channel's event loop, where it lives.
        let implicitTLS = configuration.security == .tls ? tls : nil, host = configuration.host
        let startTLS = StartTLSWindow()
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(TimeAmount(configuration.timeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let implicitTLS { try channel.pipeline.syncOperations.addHandler(try ClientTLS.handler(context: implicitTLS, host: host)) }
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder(startTLS: startTLS)))
                        try channel.pipeline.syncOperations.addHandler(ReplyForwarder(continuation: continuation))
                    }
                }
                .connect(host: configuration.host, port: configuration.port).get()
        } catch {
            if let failure = ClientTLS.failure(error) { throw .tls(failure) }
            throw .connectionFailed("\(configuration.host):\(configuration.port): \(error)")
        }
        return SMTPSession(channel: channel, configuration: configuration, tls: tls, startTLSWindow: startTLS, replies: stream)
    }

    func close() async {
        try? await channel.close().get()
    }

    /// The whole transaction, from the greeting to QUIT.
    func conversation(from: String, to recipients: [String], message: String) async throws(SMTPError) {
        try await expect(220, during: "the greeting")
        var extensions = try await ehlo()
        if configuration.security == .starttls {
            guard extensions.contains(where: { $0.uppercased() == "STARTTLS" }) else {
                throw .tls("the server does not offer STARTTLS, and security = \"starttls\" requires it")
            }
            startTLSWindow.open()
            do {
                try await command("STARTTLS", expect: 220)
                try await startTLS()
            } catch {
                throw startTLSWindow.violation.map { SMTPError.protocolViolation($0) } ?? error
            }
            if let violation = startTLSWindow.violation { throw .protocolViolation(violation) }
            startTLSWindow.close()
            extensions = try await ehlo()
        }
        if let username = configuration.username {
            let password = configuration.password ?? ""
            let mechanisms = extensions.first { $0.uppercased().hasPrefix("AUTH") }?.uppercased().split(separator: " ").dropFirst() ?? []
            if mechanisms.contains("PLAIN") || !mechanisms.contains("LOGIN") {
                let token = Data(([0] + Array(username.utf8) + [0] + Array(password.utf8))).base64EncodedString()
                try await command("AUTH PLAIN " + token, expect: 235, shown: "AUTH PLAIN")
            } else {
                try await command("AUTH LOGIN", expect: 334)
                try await command(Data(username.utf8).base64EncodedString(), expect: 334, shown: "AUTH LOGIN (user name)")
                try await command(Data(password.utf8).base64EncodedString(), expect: 235, shown: "AUTH LOGIN (password)")
            }
        }
        let eightBit = extensions.contains { $0.uppercased() == "8BITMIME" }
        try await command("MAIL FROM:<\(from)>" + (eightBit ? " BODY=8BITMIME" : ""), expect: 250)
        for recipient in recipients {
            let reply = try await send("RCPT TO:<\(recipient)>", during: "RCPT TO:<\(recipient)>")
            guard reply.code == 250 || reply.code == 251 else { throw Self.failure(reply, during: "RCPT TO:<\(recipient)>") }
        }
        try await command("DATA", expect: 354)
        do {
            try await write(SMTPClient.dataBlock(message))
            try await expect(250, during: "the message")
        } catch {
            switch error {
            case .transient, .permanent: throw error
            default: throw .outcomeUnknown(error.description)
            }
        }
        _ = try? await send("QUIT", during: "QUIT")
    }

    private func ehlo() async throws(SMTPError) -> [String] {
        let reply = try await send("EHLO \(configuration.clientName)", during: "EHLO")
        guard reply.code == 250 else { throw Self.failure(reply, during: "EHLO") }
        return Array(reply.lines.dropFirst())
    }

    private func startTLS() async throws(SMTPError) {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let context = tls!, host = configuration.host, channel = self.channel
        do {
            try await channel.eventLoop.submit {
                // Both go in front of the SMTP handlers, TLS first: TLS, watcher, SMTP.
                let handler = try ClientTLS.handler(context: context, host: host)
                try channel.pipeline.syncOperations.addHandler(TLSHandshakeWatcher(promise: promise), position: .first)
                try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            }.get()
        } catch {
            promise.fail(error)  // nothing will complete it now; an uncompleted promise is a leak
            throw .tls(ClientTLS.failure(error) ?? "\(error)")
        }
        // Past the deadline the connection is closed, which fails the handshake's promise.
        let timedOut = TimeoutFlag()
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.timeout)) {
            timedOut.set()
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        do {
            try await promise.futureResult.get()
        } catch {
            if timedOut.isSet { throw .timeout(during: "the TLS handshake") }
            throw .tls(ClientTLS.failure(error) ?? "\(error)")
        }
    }

    @discardableResult
    private func command(_ line: String, expect code: Int, shown: String? = nil) async throws(SMTPError) -> SMTPReply {
        let during = shown ?? line
        let reply = try await send(line, during: during)
        guard reply.code == code else { throw Self.failure(reply, during: during) }
        return reply
    }

    private func send(_ line: String, during: String) async throws(SMTPError) -> SMTPReply {
        try await write(line + "\r\n")
        return try await next(during: during)
    }

    private func expect(_ code: Int, during: String) async throws(SMTPError) {
        let reply = try await next(during: during)
        guard reply.code == code else { throw Self.failure(reply, during: during) }
    }

    private func write(_ text: String) async throws(SMTPError) {
        do {
            try await channel.writeAndFlush(channel.allocator.buffer(string: text)).get()
        } catch {
            throw .connectionFailed("writing: \(error)")
        }
    }

    private func next(during: String) async throws(SMTPError) -> SMTPReply {
        // The deadline closes the connection, which ends the reply stream.
        let timedOut = TimeoutFlag()
        let channel = self.channel
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.timeout)) {
            timedOut.set()
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        let reply: SMTPReply?
        do {
            reply = try await iterator.next()
        } catch {
            if let failure = ClientTLS.failure(error) { throw .tls(failure) }
            if timedOut.isSet { throw .timeout(during: during) }
            throw .connectionFailed("\(error) (\(during))")
        }
        if timedOut.isSet { throw .timeout(during: during) }
        guard let reply else { throw .connectionFailed("the server closed the connection (\(during))") }
        return reply
    }

    static func failure(_ reply: SMTPReply, during: String) -> SMTPError {
        reply.isTransient
            ? .transient(code: reply.code, text: reply.text, during: during)
            : .permanent(code: reply.code, text: reply.text, during: during)
    }
}

/// Hands decoded replies (and the end of the connection, or its error) to the session.
private final class ReplyForwarder: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = SMTPReply
    let continuation: AsyncThrowingStream<SMTPReply, Error>.Continuation

    init(continuation: AsyncThrowingStream<SMTPReply, Error>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }
}

final class TimeoutFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
