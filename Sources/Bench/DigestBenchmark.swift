import CLibCrypto
import FinetunedDigest
import Foundation

/// SHA-256 throughput (every drop and the model's weights are hashed): our compiled-in
/// SHA-256, with the CPU's SHA extensions where it has them and in portable C, against
/// OpenSSL 3's EVP SHA-256, which the daemon used before, on the same bytes in this run.
enum DigestBenchmark {
    static func run(megabytes: Int) {
        var random = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: megabytes << 20)
        for i in stride(from: 0, to: bytes.count, by: 8) {
            withUnsafeBytes(of: random.next()) { word in
                for j in 0..<min(8, bytes.count - i) { bytes[i + j] = word[j] }
            }
        }
        print("SHA-256 of \(megabytes) MiB in 1 MiB pieces, best of 3 (the CPU \(SHA256Hasher.usesSHAExtensions ? "has" : "lacks") the SHA extensions):")
        let ours = best { hashOurs(bytes, portable: false) }
        print(String(format: "  finetuned:          %.2f s, %.0f MB/s  %@", ours.seconds, Double(bytes.count) / ours.seconds / 1e6, ours.digest.prefix(16) + "…"))
        let portable = best { hashOurs(bytes, portable: true) }
        print(String(format: "  finetuned portable: %.2f s, %.0f MB/s  %@", portable.seconds, Double(bytes.count) / portable.seconds / 1e6, portable.digest.prefix(16) + "…"))
        guard finetuned_crypto_open() == 1 else {
            return print("  OpenSSL:            not measured (\(String(cString: finetuned_crypto_error())))")
        }
        let peer = best { hashOpenSSL(bytes) }
        print(String(format: "  OpenSSL 3 EVP:      %.2f s, %.0f MB/s  %@", peer.seconds, Double(bytes.count) / peer.seconds / 1e6, peer.digest.prefix(16) + "…"))
        print(String(format: "  finetuned is %.2fx as fast as the peer%@", peer.seconds / ours.seconds,
                     peer.digest == ours.digest && ours.digest == portable.digest ? "; all three digests agree" : "; THE DIGESTS DIFFER"))
    }

    private static func best(_ body: () -> String) -> (seconds: Double, digest: String) {
        var fastest = Double.infinity
        var digest = ""
        for _ in 0..<3 {
            let start = ContinuousClock.now
            digest = body()
            let elapsed = start.duration(to: .now)
            fastest = min(fastest, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        return (fastest, digest)
    }

    private static func hashOurs(_ bytes: [UInt8], portable: Bool) -> String {
        let hasher = SHA256Hasher(portable: portable)
        bytes.withUnsafeBytes { all in
            for start in stride(from: 0, to: all.count, by: 1 << 20) {
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: all[start..<min(all.count, start + (1 << 20))]))
            }
        }
        return hasher.finalize().hex
    }

    private static func hashOpenSSL(_ bytes: [UInt8]) -> String {
        let context = ft_EVP_MD_CTX_new()
        defer { ft_EVP_MD_CTX_free(context) }
        _ = ft_EVP_DigestInit_ex(context, ft_EVP_sha256(), nil)
        bytes.withUnsafeBytes { all in
            for start in stride(from: 0, to: all.count, by: 1 << 20) {
                _ = ft_EVP_DigestUpdate(context, all.baseAddress! + start, min(1 << 20, all.count - start))
            }
        }
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = ft_EVP_DigestFinal_ex(context, &digest, &length)
        return digest.hex
    }
}
