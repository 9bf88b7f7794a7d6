import NIOCore

/// Splits the byte stream into newline-terminated frames (the newline is dropped).
///
/// A frame longer than the limit fails the channel instead of buffering without bound:
/// the control socket is reachable by every member of the daemon's group.
struct LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maximumLength: Int

    struct FrameTooLong: Error {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maximumLength { throw FrameTooLong() }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        if length > maximumLength { throw FrameTooLong() }
        let frame = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A request without its final newline is still a request.
        if try decode(context: context, buffer: &buffer) == .continue { return .continue }
        if buffer.readableBytes > 0, let frame = buffer.readSlice(length: buffer.readableBytes) {
            context.fireChannelRead(Self.wrapInboundOut(frame))
        }
        return .needMoreData
    }
}
