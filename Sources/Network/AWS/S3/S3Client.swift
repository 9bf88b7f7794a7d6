import Crypto
import FinetunedText
import Foundation

/// The handful of S3 operations the Bedrock workflow needs: put (whole or multipart), get,
/// and finding and aborting multipart uploads a crash left behind.
///
/// Every body is signed with its SHA-256 (`x-amz-content-sha256`) and carries
/// `x-amz-checksum-sha256`, so S3 rejects a corrupted part rather than storing it. A file
/// above `multipartThreshold` is sent in `partSize` pieces read one at a time, so memory
/// stays at one part whatever the file size.
public struct S3Client: Sendable {
    public let client: AWSServiceClient
    /// Path-style (`endpoint/bucket/key`) rather than virtual-hosted (`bucket.endpoint/key`);
    /// forced for endpoints that are IP addresses or localhost, and for buckets with dots.
    public let forcePathStyle: Bool
    public var multipartThreshold: Int
    public var partSize: Int

    /// S3's minimum for every part but the last.
    public static let minimumPartSize = 5 << 20

    public init(client: AWSServiceClient, forcePathStyle: Bool = false, multipartThreshold: Int = 16 << 20, partSize: Int = 8 << 20) {
        self.client = client
        self.forcePathStyle = forcePathStyle
        self.multipartThreshold = multipartThreshold
        self.partSize = max(partSize, Self.minimumPartSize)
    }

    // MARK: Addressing

    public func address(_ location: S3Location) -> (baseURL: String, path: String) {
        let endpoint = client.endpoints.url(for: .s3)
        let keyPath =
            "/"
            + location.key.split(separator: "/", omittingEmptySubsequences: false)
            .map { SigV4Signer.encode(String($0)) }.joined(separator: "/")
        guard let target = try? HTTPTarget(endpoint) else { return (endpoint, "/" + location.bucket + keyPath) }
        let hostIsAddress =
            target.host == "localhost" || target.host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" }
            || target.host.hasPrefix("[")
        if forcePathStyle || hostIsAddress || location.bucket.contains(".") {
            return (endpoint, "/" + location.bucket + (location.key.isEmpty ? "" : keyPath))
        }
        let scheme = target.secure ? "https://" : "http://"
        let suffix = target.pathAndQuery == "/" ? "" : target.pathAndQuery
        return (scheme + location.bucket + "." + target.hostHeader + suffix, location.key.isEmpty ? "/" : keyPath)
    }

    func send(
        _ method: String, _ location: S3Location, query: String = "", headers: [(String, String)] = [],
        body: [UInt8] = []
    ) async throws(AWSError) -> HTTPResponse {
        let (base, path) = address(location)
        return try await client.send(method, path: path, query: query, headers: headers, body: body, baseURL: base)
    }

    static func checksum(_ body: [UInt8]) -> String { Data(SHA256.hash(data: body)).base64EncodedString() }

    // MARK: Objects

    /// PutObject; returns the ETag.
    @discardableResult
    public func putObject(
        _ location: S3Location, body: [UInt8], contentType: String = "application/octet-stream",
        tags: [String: String] = [:]
    ) async throws(AWSError) -> String {
        var headers = [("Content-Type", contentType), ("x-amz-checksum-sha256", Self.checksum(body))]
        if !tags.isEmpty { headers.append(("x-amz-tagging", Self.tagging(tags))) }
        let response = try await send("PUT", location, headers: headers, body: body)
        return response.header("ETag") ?? ""
    }

    public func getObject(_ location: S3Location) async throws(AWSError) -> [UInt8] {
        try await send("GET", location).body
    }

    /// Uploads a local file: one PutObject when small, a multipart upload otherwise. Before a
    /// multipart upload, any still open for the same key (from an attempt a crash
    /// interrupted) is aborted: S3 bills its parts until it is.
    ///
    /// With `expectedSHA256` (hex), the bytes sent are hashed as they are read and must be the
    /// bytes that were validated: a file changed since (through a second hard link or an open
    /// descriptor) is refused before the upload completes. A read error is an error, never an
    /// empty object.
    @discardableResult
    public func uploadFile(
        _ path: String, to location: S3Location, contentType: String = "application/octet-stream",
        tags: [String: String] = [:], expectedSHA256: String? = nil
    ) async throws(AWSError) -> String {
        let size: Int
        do { size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0 } catch {
            throw AWSError(status: 0, code: AWSError.localFileCode, message: "cannot read \(path): \(error.localizedDescription)")
        }
        // Only a file this large was ever sent in parts, so only then can a crashed attempt
        // have left an upload open (a bucket lifecycle rule is the backstop for the rest).
        if size > multipartThreshold {
            for stale in try await listMultipartUploads(S3Location(bucket: location.bucket, key: location.key)) where stale.key == location.key {
                try await abortMultipartUpload(stale)
            }
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw AWSError(status: 0, code: AWSError.localFileCode, message: "cannot open \(path)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        func read(_ count: Int?) throws(AWSError) -> [UInt8] {
            do {
                let data = try count.map { try handle.read(upToCount: $0) } ?? handle.readToEnd()
                let bytes = Array(data ?? Data())
                hasher.update(data: bytes)
                return bytes
            } catch {
                throw AWSError(status: 0, code: AWSError.localFileCode, message: "cannot read \(path): \(error.localizedDescription)")
            }
        }
        func checkDigest() throws(AWSError) {
            guard let expectedSHA256 else { return }
            let actual = hasher.finalize().hex
            guard actual == expectedSHA256 else {
                throw AWSError(
                    status: 0, code: AWSError.localFileCode,
                    message: "\(path) changed since it was validated (sha256 \(actual), validated \(expectedSHA256)); it was not uploaded")
            }
        }
        if size <= multipartThreshold {
            let body = try read(nil)
            try checkDigest()
            return try await putObject(location, body: body, contentType: contentType, tags: tags)
        }
        let upload = try await createMultipartUpload(location, contentType: contentType, tags: tags)
        do {
            var parts: [CompletedPart] = []
            while true {
                let chunk = try read(partSize)
                if chunk.isEmpty { break }
                parts.append(try await uploadPart(upload, number: parts.count + 1, body: chunk))
            }
            try checkDigest()
            return try await completeMultipartUpload(upload, parts: parts)
        } catch {
            // Best effort; a failure here is found and aborted on the next attempt.
            try? await abortMultipartUpload(upload)
            throw error
        }
    }

    static func tagging(_ tags: [String: String]) -> String {
        tags.sorted { $0.key < $1.key }.map { SigV4Signer.encode($0.key) + "=" + SigV4Signer.encode($0.value) }.joined(separator: "&")
    }

    // MARK: Multipart

    public struct MultipartUpload: Sendable, Equatable {
        public var bucket: String
        public var key: String
        public var uploadID: String
    }

    public struct CompletedPart: Sendable, Equatable {
        public var number: Int
        public var etag: String
        public var checksum: String
    }

    public func createMultipartUpload(_ location: S3Location, contentType: String, tags: [String: String] = [:]) async throws(AWSError)
        -> MultipartUpload
    {
        var headers = [("Content-Type", contentType), ("x-amz-checksum-algorithm", "SHA256")]
        if !tags.isEmpty { headers.append(("x-amz-tagging", Self.tagging(tags))) }
        let response = try await send("POST", location, query: "uploads=", headers: headers)
        guard let id = XMLText.first("UploadId", in: response.text), !id.isEmpty else {
            throw AWSError(status: response.status, code: "UnreadableResponse", message: "CreateMultipartUpload answered without an UploadId")
        }
        return MultipartUpload(bucket: location.bucket, key: location.key, uploadID: id)
    }

    public func uploadPart(_ upload: MultipartUpload, number: Int, body: [UInt8]) async throws(AWSError) -> CompletedPart {
        let checksum = Self.checksum(body)
        let response = try await send(
            "PUT", S3Location(bucket: upload.bucket, key: upload.key),
            query: "partNumber=\(number)&uploadId=\(SigV4Signer.encode(upload.uploadID))",
            headers: [("x-amz-checksum-sha256", checksum)], body: body)
        guard let etag = response.header("ETag") else {
            throw AWSError(status: response.status, code: "UnreadableResponse", message: "UploadPart \(number) answered without an ETag")
        }
        return CompletedPart(number: number, etag: etag, checksum: checksum)
    }

    @discardableResult
    public func completeMultipartUpload(_ upload: MultipartUpload, parts: [CompletedPart]) async throws(AWSError) -> String {
        let body =
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            + parts.map {
                "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(XMLText.escape($0.etag))</ETag><ChecksumSHA256>\($0.checksum)</ChecksumSHA256></Part>"
            }.joined()
            + "</CompleteMultipartUpload>"
        let response = try await send(
            "POST", S3Location(bucket: upload.bucket, key: upload.key),
            query: "uploadId=\(SigV4Signer.encode(upload.uploadID))",
            headers: [("Content-Type", "application/xml")], body: Array(body.utf8))
        // S3 can answer 200 with an error document when the completion fails late.
        if XMLText.first("Code", in: response.text) != nil, !response.text.contains("<CompleteMultipartUploadResult") {
            throw AWSError.parse(HTTPResponse(status: 500, headers: response.headers, body: response.body))
        }
        return XMLText.first("ETag", in: response.text) ?? ""
    }

    public func abortMultipartUpload(_ upload: MultipartUpload) async throws(AWSError) {
        do {
            _ = try await send(
                "DELETE", S3Location(bucket: upload.bucket, key: upload.key),
                query: "uploadId=\(SigV4Signer.encode(upload.uploadID))")
        } catch  where error.code == "NoSuchUpload" {
            // Already gone: what we wanted.
        }
    }

    /// Open multipart uploads whose keys start with `prefix.key`.
    public func listMultipartUploads(_ prefix: S3Location) async throws(AWSError) -> [MultipartUpload] {
        let response = try await send(
            "GET", S3Location(bucket: prefix.bucket, key: ""),
            query: "prefix=\(SigV4Signer.encode(prefix.key))&uploads=")
        return XMLText.elements("Upload", in: response.text).compactMap { upload in
            guard let key = XMLText.first("Key", in: upload), let id = XMLText.first("UploadId", in: upload) else { return nil }
            return MultipartUpload(bucket: prefix.bucket, key: key, uploadID: id)
        }
    }
}
