import COpenSSLPeer
import Crypto
import FinetunedTestSupport
import FinetunedText
import Foundation
import Testing

/// Hashing and MACs come from swift-crypto; these check the way the daemon uses it (fed in
/// pieces as a file is read, keys of every length, the hex it writes) against independent
/// peers: sha256sum, the system's OpenSSL, and RFC 4231's vectors.
@Suite("SHA-256 and HMAC through swift-crypto")
struct DigestTests {
    static func hmac(key: [UInt8], data: [UInt8]) -> String {
        Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key))).hex
    }

    @Test("HMAC-SHA256 matches RFC 4231 test cases 1, 2 and 6 (a key longer than a block)")
    func rfc4231() {
        #expect(
            Self.hmac(key: [UInt8](repeating: 0x0b, count: 20), data: Array("Hi There".utf8))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(
            Self.hmac(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(
            Self.hmac(key: [UInt8](repeating: 0xaa, count: 131), data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test("fed in random pieces, as files are read, it agrees with OpenSSL's SHA-256 and HMAC on every length from 0 to 300 bytes")
    func agreesWithOpenSSL() throws {
        func openssl(_ bytes: [UInt8]) -> String {
            let context = EVP_MD_CTX_new()
            defer { EVP_MD_CTX_free(context) }
            var digest = [UInt8](repeating: 0, count: 32)
            var length: UInt32 = 0
            _ = EVP_DigestInit_ex(context, EVP_sha256(), nil)
            _ = EVP_DigestUpdate(context, bytes, bytes.count)
            _ = EVP_DigestFinal_ex(context, &digest, &length)
            return digest.hex
        }
        func opensslHMAC(key: [UInt8], data: [UInt8]) -> String {
            var mac = [UInt8](repeating: 0, count: 32)
            var length: UInt32 = 0
            _ = COpenSSLPeer.HMAC(EVP_sha256(), key, Int32(key.count), data, data.count, &mac, &length)
            return mac.hex
        }
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<1_000_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        for length in 0...300 {
            let input = Array(bytes[length..<(2 * length)])
            #expect(SHA256.hash(data: input).hex == openssl(input), "length \(length)")
            let key = Array(bytes[(3 * length)..<(4 * length)])
            #expect(Self.hmac(key: key, data: input) == opensslHMAC(key: key, data: input), "HMAC, key and data of \(length) bytes")
        }
        var pieces = SHA256()
        var offset = 0
        while offset < bytes.count {
            let count = min(bytes.count - offset, Int.random(in: 0...5_000, using: &random))
            bytes[offset..<(offset + count)].withUnsafeBytes { pieces.update(bufferPointer: $0) }
            offset += count
        }
        #expect(pieces.finalize().hex == openssl(bytes))
    }

    @Test("agrees with sha256sum on a file; hex is lower case, two digits a byte")
    func agreesWithCoreutils() throws {
        let dir = try TemporaryDirectory(prefix: "ftsha")
        defer { dir.remove() }
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        let path = try dir.write("blob", String(decoding: [], as: UTF8.self))
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let result = try Command.run("/usr/bin/sha256sum", [path])
        #expect(result.stdout.split(separator: " ").first.map(String.init) == SHA256.hash(data: bytes).hex)
        #expect([0x00, 0x0f, 0xa0, 0xff].hex == "000fa0ff")
    }
}
