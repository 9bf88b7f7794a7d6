import NIOCore
import Synchronization

/// One SMTP reply: a three-digit code and its text, possibly over several lines
/// (`250-…` continues, `250 …` ends, RFC 5321 §4.2).
public struct SMTPReply: Sendable, Equatable {
    public var code: Int
    public var lines: [String]

    public var text: String { lines.joined(separator: " / ") }
    /// 2xx and 3xx move the transaction on; 4xx is worth retrying later; 5xx is not.
    public var isPositive: Bool { (200..<400).contains(code) }
    public var isTransient: Bool { (400..<500).contains(code) }
}

/// The plaintext window of STARTTLS. Between the client's `STARTTLS` and the end of the TLS
/// handshake the server may send exactly one reply, the 220; anything after it was sent in
/// clear and would be read as if it came over TLS (an injection, CVE-2011-0411 and kin), so
/// it ends the connection.
final class StartTLSWindow: Sendable {
    private let state = Mutex<(open: Bool, answered: Bool, violation: String?)>((false, false, nil))

    func open() { state.withLock { $0 = (true, false, nil) } }
    func close() { state.withLock { $0.open = false } }
    var violation: String? { state.withLock { $0.violation } }

    /// Called with each complete reply and the bytes left after it; throws on an injection.
    func check(replyComplete: Bool, bytesAfter: Int) throws {
        try state.withLock { s in
            guard s.open else { return }
            let problem: String?
            if s.answered {
                problem = "the server sent more after its STARTTLS reply, before TLS began"
            } else if replyComplete && bytesAfter > 0 {
                problem = "the server sent \(bytesAfter) bytes after its STARTTLS reply, before TLS began"
            } else {
                problem = nil
            }
            if replyComplete { s.answered = true }
            if let problem {
                s.violation = problem
                throw SMTPError.protocolViolation(problem + ": refusing them (a command injection)")
            }
        }
    }
}

/// Splits the server's bytes into replies: CRLF lines, joined while they continue.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply
    private var lines: [String] = []
    let startTLS: StartTLSWindow

    init(startTLS: StartTLSWindow = StartTLSWindow()) {
        self.startTLS = startTLS
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if buffer.readableBytes > 0 { try startTLS.check(replyComplete: false, bytesAfter: 0) }
        guard let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > 4096 { throw SMTPError.protocolViolation("a reply line longer than 4096 bytes") }
            return .needMoreData
        }
        let length = end - buffer.readerIndex + 1
        var line = buffer.readString(length: length) ?? ""
        // "\r\n" is one Character in Swift: trim scalars, not characters.
        while let last = line.unicodeScalars.last, last == "\n" || last == "\r" { line.unicodeScalars.removeLast() }
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, let code = Int(String(decoding: bytes.prefix(3), as: UTF8.self)), (200..<600).contains(code) else {
            throw SMTPError.protocolViolation("not an SMTP reply: \(line.prefix(80))")
        }
        let continues = bytes.count > 3 && bytes[3] == UInt8(ascii: "-")
        lines.append(bytes.count > 4 ? String(decoding: bytes.dropFirst(4), as: UTF8.self) : "")
        if !continues {
            try startTLS.check(replyComplete: true, bytesAfter: buffer.readableBytes)
            context.fireChannelRead(wrapInboundOut(SMTPReply(code: code, lines: lines)))
            lines = []
        }
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
