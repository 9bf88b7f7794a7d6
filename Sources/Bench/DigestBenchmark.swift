import COpenSSLPeer
import Crypto
import FinetunedText
import Foundation

/// SHA-256 throughput (every drop and the model's weights are hashed): swift-crypto's SHA256,
/// which the daemon uses, against the system's OpenSSL 3 EVP SHA-256, on the same bytes in
/// this run.
enum DigestBenchmark {
    static func run(megabytes: Int) {
        var random = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: megabytes << 20)
        for i in stride(from: 0, to: bytes.count, by: 8) {
            withUnsafeBytes(of: random.next()) { word in
                for j in 0..<min(8, bytes.count - i) { bytes[i + j] = word[j] }
            }
        }
        print("SHA-256 of \(megabytes) MiB in 1 MiB pieces, best of 3:")
        let ours = best { hashOurs(bytes) }
        print(
            String(
                format: "  swift-crypto:       %.2f s, %.0f MB/s  %@", ours.seconds, Double(bytes.count) / ours.seconds / 1e6,
                ours.digest.prefix(16) + "…"))
        let peer = best { hashOpenSSL(bytes) }
        print(
            String(
                format: "  OpenSSL 3 EVP:      %.2f s, %.0f MB/s  %@", peer.seconds, Double(bytes.count) / peer.seconds / 1e6,
                peer.digest.prefix(16) + "…"))
        print(
            String(
                format: "  swift-crypto is %.2fx as fast as the peer%@", peer.seconds / ours.seconds,
                peer.digest == ours.digest ? "; the digests agree" : "; THE DIGESTS DIFFER"))
    }

    private static func best(_ body: () -> String) -> (seconds: Double, digest: String) {
        var fastest = Double.infinity
        var digest = ""
        for _ in 0..<3 {
            let start = ContinuousClock.now
            digest = body()
            let elapsed = start.duration(to: .now)
            fastest = min(fastest, elapsed.seconds)
        }
        return (fastest, digest)
    }

    private static func hashOurs(_ bytes: [UInt8]) -> String {
        var hasher = SHA256()
        bytes.withUnsafeBytes { all in
            for start in stride(from: 0, to: all.count, by: 1 << 20) {
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: all[start..<min(all.count, start + (1 << 20))]))
            }
        }
        return hasher.finalize().hex
    }

    private static func hashOpenSSL(_ bytes: [UInt8]) -> String {
        let context = EVP_MD_CTX_new()
        defer { EVP_MD_CTX_free(context) }
        _ = EVP_DigestInit_ex(context, EVP_sha256(), nil)
        bytes.withUnsafeBytes { all in
            for start in stride(from: 0, to: all.count, by: 1 << 20) {
                _ = EVP_DigestUpdate(context, all.baseAddress! + start, min(1 << 20, all.count - start))
            }
        }
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = EVP_DigestFinal_ex(context, &digest, &length)
        return digest.hex
    }
}
