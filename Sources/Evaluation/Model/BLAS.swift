import FinetunedText
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// OpenBLAS, opened when an encoder is built rather than linked, and closed again when the
/// last encoder goes: an idle daemon (most of its life) then maps none of it, nor libgfortran,
/// nor the threads OpenBLAS starts when it loads, nor the work buffers it maps for each thread
/// that multiplies (128 MiB of address space each, several MiB of them resident after a
/// workflow, which OpenBLAS frees only when it is unloaded). Only `cblas_sgemm` is used,
/// row-major, single-threaded (see `BERTEncoder.hiddenStates(passes:)` for why).
final class BLASLibrary: @unchecked Sendable {
    typealias SGEMM =
        @convention(c) (
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

    /// The open library, if any holder keeps it: every encoder alive shares one.
    private static let current = Mutex<Weak>(Weak())
    private struct Weak: ~Copyable { weak var library: BLASLibrary? }

    private let handle: UnsafeMutableRawPointer
    private let product: SGEMM

    private init(handle: UnsafeMutableRawPointer, product: SGEMM) {
        self.handle = handle
        self.product = product
    }

    /// Whoever multiplies holds the library; the last holder's release unloads it. (An `open()`
    /// racing with this finds no holder and opens it anew: the loader counts the two opens.)
    deinit { dlclose(handle) }

    /// The open library, opening it if no one holds it.
    static func open() throws(Failure) -> BLASLibrary {
        try current.withLock { (current: inout Weak) throws(Failure) -> BLASLibrary in
            if let library = current.library { return library }
            var tried: [String] = []
            for name in candidates {
                guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
                    tried.append(name)
                    continue
                }
                guard let symbol = dlsym(handle, "cblas_sgemm") else {
                    tried.append(name + " (no cblas_sgemm)")
                    dlclose(handle)
                    continue
                }
                if let threads = dlsym(handle, "openblas_set_num_threads") {
                    unsafeBitCast(threads, to: SetThreads.self)(1)
                }
                let library = BLASLibrary(handle: handle, product: unsafeBitCast(symbol, to: SGEMM.self))
                current.library = library
                return library
            }
            throw Failure(.library, "no BLAS library could be opened (tried \(tried.joined(separator: ", "))): install libopenblas0")
        }
    }

    /// `C = alpha · A · op(B) + beta · C`, row-major, A not transposed.
    func sgemm(
        transposeB: Bool, m: Int32, n: Int32, k: Int32, alpha: Float, a: UnsafePointer<Float>, lda: Int32,
        b: UnsafePointer<Float>, ldb: Int32, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int32
    ) {
        product(Self.rowMajor, Self.noTranspose, transposeB ? Self.transpose : Self.noTranspose, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
}
