import FinetunedDigest
import FinetunedTestSupport
import Foundation
import Testing

@Suite("SHA-256 and HMAC-SHA256 through libcrypto")
struct DigestTests {
    @Test("FIPS 180-2 vectors, fed whole and in pieces")
    func vectors() {
        #expect(SHA256Hasher.hash(Data()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Hasher.hash(Data("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        let hasher = SHA256Hasher()
        for byte in long { hasher.update(data: [byte]) }
        #expect(hasher.finalize().hex == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let million = SHA256Hasher()
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
