import CLibCrypto
import Foundation

/// SHA-256 over data fed in pieces (a drop as the validator reads it, the model file in
/// 1 MiB chunks), through the system's libcrypto, which the first hasher opens.
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() {
        // Only a machine without libcrypto (a broken installation: the package needs libssl3)
        // or an out-of-memory one fails here; nothing sensible can continue.
        guard finetuned_crypto_open() == 1 else { fatalError("libcrypto: \(String(cString: finetuned_crypto_error()))") }
        guard let context = ft_EVP_MD_CTX_new(), ft_EVP_DigestInit_ex(context, ft_EVP_sha256(), nil) == 1 else {
            fatalError("libcrypto cannot start a SHA-256 digest")
        }
        self.context = context
    }

    deinit { ft_EVP_MD_CTX_free(context) }

    public func update(bufferPointer: UnsafeRawBufferPointer) {
        guard let base = bufferPointer.baseAddress, !bufferPointer.isEmpty else { return }
        ft_EVP_DigestUpdate(context, base, bufferPointer.count)
    }

    public func update<D: DataProtocol>(data: D) {
        for region in data.regions { region.withUnsafeBytes { update(bufferPointer: $0) } }
    }

    /// The 32-byte digest; the hasher is spent afterwards.
    public func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        ft_EVP_DigestFinal_ex(context, &digest, &length)
        return Array(digest.prefix(Int(length)))
    }

    /// The digest of `data` in one call.
    public static func hash<D: DataProtocol>(_ data: D) -> [UInt8] {
        let hasher = SHA256Hasher()
        hasher.update(data: data)
        return hasher.finalize()
    }

    /// HMAC-SHA256 of `data` under `key` (SigV4 signing keys, webhook signatures).
    public static func hmac(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                _ = ft_HMAC(ft_EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, &out, &length)
            }
        }
        return Array(out.prefix(Int(length)))
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
