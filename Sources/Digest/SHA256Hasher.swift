import CDigest
import Foundation

/// SHA-256 over data fed in pieces (a drop as the validator reads it, the model file in
/// 1 MiB chunks), and HMAC-SHA256. Compiled in (`Sources/CDigest`), so hashing never loads
/// OpenSSL: a daemon that only talks to the local backend keeps libcrypto out of its memory.
public final class SHA256Hasher {
    private var context = ft_sha256_context()

    /// - Parameter portable: always run the portable C, even on a CPU with the SHA
    ///   extensions (the tests compare the two).
    public init(portable: Bool = false) {
        if portable { ft_sha256_init_portable(&context) } else { ft_sha256_init(&context) }
    }

    /// Whether this CPU's SHA extensions do the hashing.
    public static var usesSHAExtensions: Bool { ft_sha256_uses_sha_extensions() == 1 }

    public func update(bufferPointer: UnsafeRawBufferPointer) {
        guard let base = bufferPointer.baseAddress, !bufferPointer.isEmpty else { return }
        ft_sha256_update(&context, base, bufferPointer.count)
    }

    public func update<D: DataProtocol>(data: D) {
        for region in data.regions { region.withUnsafeBytes { update(bufferPointer: $0) } }
    }

    /// The 32-byte digest; the hasher is spent afterwards.
    public func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        ft_sha256_final(&context, &digest)
        return digest
    }

    /// The digest of `data` in one call.
    public static func hash<D: DataProtocol>(_ data: D) -> [UInt8] {
        let hasher = SHA256Hasher()
        hasher.update(data: data)
        return hasher.finalize()
    }

    /// HMAC-SHA256 of `data` under `key` (SigV4 signing keys, webhook signatures).
    public static func hmac(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: 32)
        ft_hmac_sha256(key, key.count, data, data.count, &mac)
        return mac
    }
}

extension Sequence<UInt8> {
    /// Lower-case hexadecimal, as sha256sum prints it.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        for byte in self {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
