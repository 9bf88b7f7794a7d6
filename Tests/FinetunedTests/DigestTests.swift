import CLibCrypto
import FinetunedDigest
import FinetunedTestSupport
import Foundation
import Testing

@Suite("SHA-256 and HMAC-SHA256, our own, against FIPS and RFC vectors, coreutils and OpenSSL")
struct DigestTests {
    @Test("FIPS 180-2 vectors, fed whole and in pieces, by both compression functions", arguments: [false, true])
    func vectors(portable: Bool) {
        func hash(_ bytes: [UInt8]) -> String {
            let hasher = SHA256Hasher(portable: portable)
            hasher.update(data: bytes)
            return hasher.finalize().hex
        }
        #expect(hash([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hash(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hash(Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8))
            == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        #expect(SHA256Hasher.hash(Data()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Hasher.hash(Data("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        let hasher = SHA256Hasher(portable: portable)
        for byte in long { hasher.update(data: [byte]) }
        #expect(hasher.finalize().hex == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let million = SHA256Hasher(portable: portable)
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { chunk.withUnsafeBytes { million.update(bufferPointer: $0) } }
        #expect(million.finalize().hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("RFC 4231 HMAC-SHA256 test cases 1, 2 and 6 (a key longer than the block)")
    func hmac() {
        #expect(SHA256Hasher.hmac(key: [UInt8](repeating: 0x0b, count: 20), data: Array("Hi There".utf8)).hex
            == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(SHA256Hasher.hmac(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8)).hex
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(SHA256Hasher.hmac(key: [UInt8](repeating: 0xaa, count: 131),
                                  data: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)).hex
            == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test("agrees with OpenSSL's SHA-256 and HMAC on every length from 0 to 300 bytes and on random pieces of a large input")
    func agreesWithOpenSSL() throws {
        try #require(finetuned_crypto_open() == 1, "libcrypto: \(String(cString: finetuned_crypto_error()))")
        func openssl(_ bytes: [UInt8]) -> String {
            let context = ft_EVP_MD_CTX_new()
            defer { ft_EVP_MD_CTX_free(context) }
            var digest = [UInt8](repeating: 0, count: 32)
            var length: UInt32 = 0
            _ = ft_EVP_DigestInit_ex(context, ft_EVP_sha256(), nil)
            _ = ft_EVP_DigestUpdate(context, bytes, bytes.count)
            _ = ft_EVP_DigestFinal_ex(context, &digest, &length)
            return digest.hex
        }
        func opensslHMAC(key: [UInt8], data: [UInt8]) -> String {
            var mac = [UInt8](repeating: 0, count: 32)
            var length: UInt32 = 0
            _ = ft_HMAC(ft_EVP_sha256(), key, Int32(key.count), data, data.count, &mac, &length)
            return mac.hex
        }
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<1_000_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        for length in 0...300 {
            let input = Array(bytes[length..<(2 * length)])
            let expected = openssl(input)
            #expect(SHA256Hasher.hash(input).hex == expected, "length \(length)")
            let portable = SHA256Hasher(portable: true)
            portable.update(data: input)
            #expect(portable.finalize().hex == expected, "length \(length), portable")
            let key = Array(bytes[(3 * length)..<(4 * length)])
            #expect(SHA256Hasher.hmac(key: key, data: input).hex == opensslHMAC(key: key, data: input), "HMAC, key and data of \(length) bytes")
        }
        // A megabyte fed in random pieces, so buffered partial blocks meet whole ones.
        let pieces = SHA256Hasher()
        var offset = 0
        while offset < bytes.count {
            let count = min(bytes.count - offset, Int.random(in: 0...5_000, using: &random))
            bytes[offset..<(offset + count)].withUnsafeBytes { pieces.update(bufferPointer: $0) }
            offset += count
        }
        #expect(pieces.finalize().hex == openssl(bytes))
    }

    @Test("the SHA extensions do the hashing on a CPU that has them")
    func extensionsUsedWhenPresent() throws {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        #expect(SHA256Hasher.usesSHAExtensions == (flags.contains("sha_ni") && flags.contains("sse4_1") && flags.contains("ssse3")),
                "/proc/cpuinfo flags: sha_ni \(flags.contains("sha_ni")), sse4_1 \(flags.contains("sse4_1")), ssse3 \(flags.contains("ssse3"))")
    }

    @Test("agrees with sha256sum on a file")
    func agreesWithCoreutils() throws {
        let dir = try TemporaryDirectory(prefix: "ftsha")
        defer { dir.remove() }
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        let path = try dir.write("blob", String(decoding: [], as: UTF8.self))
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let result = try Command.run("/usr/bin/sha256sum", [path])
        #expect(result.stdout.split(separator: " ").first.map(String.init) == SHA256Hasher.hash(bytes).hex)
    }
}
