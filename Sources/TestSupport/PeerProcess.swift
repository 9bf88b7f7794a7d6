import Foundation
import NIOSSL

/// A peer server the tests start (a Python SMTP server, later moto): a child process on
/// 127.0.0.1 that prints "ready" when it listens, and is killed when the test ends.
public final class PeerProcess: @unchecked Sendable {
    private let process = Process()
    private let output = Pipe()
    public let port: Int

    /// Starts `executable arguments` with `{port}` in the arguments replaced by a free port.
    public init(_ executable: String, _ arguments: [String], timeout: TimeInterval = 20) throws {
        port = try Self.freePort()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments.map { $0.replacingOccurrences(of: "{port}", with: String(port)) }
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        var seen = Data()
        let handle = output.fileHandleForReading
        while Date() < deadline {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
            if String(decoding: seen, as: UTF8.self).contains("ready") {
                // Keep reading what it writes later (warnings, tracebacks): a full pipe would stall it.
                handle.readabilityHandler = { _ = $0.availableData }
                return
            }
        }
        stop()
        throw PeerError(description: "\(executable) did not become ready: \(String(decoding: seen, as: UTF8.self))")
    }

    public func stop() {
        // SIGKILL: a child may inherit a signal mask with SIGTERM blocked from the test runner.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }

    /// A TCP port nobody listens on right now (bind to 0, read it back, close).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw PeerError(description: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

public struct PeerError: Error, CustomStringConvertible {
    public var description: String
}

/// A private CA and server certificates for TLS tests, made with the openssl command.
public struct TestCertificates: Sendable {
    public let ca: String
    public let cert: String
    public let key: String
    /// A certificate for another host name, signed by the same CA.
    public let otherCert: String
    public let otherKey: String

    public init(in dir: TemporaryDirectory) throws {
        let openssl = Command.which("openssl") ?? "/usr/bin/openssl"
        func run(_ arguments: [String]) throws {
            let result = try Command.run(openssl, arguments)
            guard result.status == 0 else { throw PeerError(description: "openssl \(arguments.prefix(2)): \(result.stderr)") }
        }
        ca = dir.file("ca.pem")
        cert = dir.file("server.pem")
        key = dir.file("server.key")
        otherCert = dir.file("other.pem")
        otherKey = dir.file("other.key")
        try run([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir.file("ca.key"), "-out", ca, "-days", "2",
            "-subj", "/CN=finetuned test CA",
        ])
        for (name, crt, k, san) in [("server", cert, key, "DNS:localhost,IP:127.0.0.1"), ("other", otherCert, otherKey, "DNS:mail.example.org")] {
            let ext = try dir.write(name + ".ext", "subjectAltName=\(san)\n")
            try run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", k, "-out", dir.file(name + ".csr"), "-subj", "/CN=\(name)"])
            try run([
                "x509", "-req", "-in", dir.file(name + ".csr"), "-CA", ca, "-CAkey", dir.file("ca.key"), "-CAcreateserial",
                "-out", crt, "-days", "2", "-extfile", ext,
            ])
        }
    }

    /// A server-side TLS context with the certificate for localhost and 127.0.0.1.
    public func serverContext() throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
        return try NIOSSLContext(
            configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))))
    }
}
