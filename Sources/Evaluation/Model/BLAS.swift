#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS, opened the first time an encoder is built rather than linked: an idle daemon
/// (most of its life) then maps none of it, nor libgfortran, nor the thread OpenBLAS starts
/// when it loads. Only `cblas_sgemm` is used, row-major, single-threaded (see
/// `BERTEncoder.hiddenStates(passes:)` for why).
enum BLAS {
    typealias SGEMM = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32, Float,
        UnsafeMutablePointer<Float>?, Int32
    ) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void

    /// The CBLAS enumerations' values, fixed by the CBLAS interface.
    static let rowMajor: Int32 = 101
    static let noTranspose: Int32 = 111
    static let transpose: Int32 = 112

    /// The sonames Debian's OpenBLAS packages install (through alternatives).
    static let candidates = ["libopenblas.so.0", "libopenblas.so", "libblas.so.3"]

    private static let loaded: Result<SGEMM, BLASUnavailable> = {
        var tried: [String] = []
        for name in candidates {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
                tried.append(name)
                continue
            }
            guard let symbol = dlsym(handle, "cblas_sgemm") else {
                tried.append(name + " (no cblas_sgemm)")
                continue
            }
            if let threads = dlsym(handle, "openblas_set_num_threads") {
                unsafeBitCast(threads, to: SetThreads.self)(1)
            }
            return .success(unsafeBitCast(symbol, to: SGEMM.self))
        }
        return .failure(BLASUnavailable(description: "no BLAS library could be opened (tried \(tried.joined(separator: ", "))): install libopenblas0"))
    }()

    /// Opens the library once; an encoder calls this before any product.
    static func load() throws(BLASUnavailable) {
        _ = try loaded.get()
    }

    /// `C = alpha · A · op(B) + beta · C`, row-major, A not transposed.
    static func sgemm(transposeB: Bool, m: Int32, n: Int32, k: Int32, alpha: Float, a: UnsafePointer<Float>, lda: Int32,
                      b: UnsafePointer<Float>, ldb: Int32, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int32) {
        guard case .success(let sgemm) = loaded else {
            // Encoders refuse to start without the library (`load()`), so only a direct use
            // on hand-made vectors comes here: the plain loop gives the same numbers, slowly.
            return plainSGEMM(transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
        sgemm(rowMajor, noTranspose, transposeB ? transpose : noTranspose, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    static func plainSGEMM(transposeB: Bool, m: Int32, n: Int32, k: Int32, alpha: Float, a: UnsafePointer<Float>, lda: Int32,
                           b: UnsafePointer<Float>, ldb: Int32, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int32) {
        for i in 0..<Int(m) {
            for j in 0..<Int(n) {
                var sum: Float = 0
                for p in 0..<Int(k) {
                    sum += a[i * Int(lda) + p] * (transposeB ? b[j * Int(ldb) + p] : b[p * Int(ldb) + j])
                }
                c[i * Int(ldc) + j] = alpha * sum + (beta == 0 ? 0 : beta * c[i * Int(ldc) + j])
            }
        }
    }
}

public struct BLASUnavailable: Error, CustomStringConvertible, Sendable {
    public var description: String
}
