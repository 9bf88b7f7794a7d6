import Foundation

/// A memory-mapped `.safetensors` file: an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the raw data. Mapping it costs no
/// copy of the 90 MB of weights; tensors are read in place.
public final class SafeTensors: @unchecked Sendable {
    public struct TensorInfo: Sendable, Equatable {
        public var dtype: String
        public var shape: [Int]
        public var range: Range<Int>
    }

    public let tensors: [String: TensorInfo]
    private let base: UnsafeRawPointer
    private let length: Int
    private let dataStart: Int

    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SafeTensorsError.unreadable(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size >= 8 else { throw SafeTensorsError.malformed(path, "file too short") }
        length = Int(st.st_size)
        guard let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw SafeTensorsError.unreadable(path, String(cString: strerror(errno)))
        }
        base = UnsafeRawPointer(mapped)
        let headerLength = Int(base.loadUnaligned(as: UInt64.self).littleEndian)
        guard headerLength > 0, 8 + headerLength <= length else {
            munmap(mapped, length)
            throw SafeTensorsError.malformed(path, "header length \(headerLength) does not fit the file")
        }
        dataStart = 8 + headerLength
        let header = Data(bytes: base + 8, count: headerLength)
        guard let object = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            munmap(mapped, length)
            throw SafeTensorsError.malformed(path, "the header is not a JSON object")
        }
        var tensors: [String: TensorInfo] = [:]
        for (name, value) in object where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2,
                offsets[0] <= offsets[1], dataStart + offsets[1] <= length
            else {
                munmap(mapped, length)
                throw SafeTensorsError.malformed(path, "tensor \(name) has an invalid entry")
            }
            tensors[name] = TensorInfo(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        self.tensors = tensors
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), length)
    }

    /// An F32 tensor's values in place, checked against the expected shape.
    public func float32(_ name: String, shape expected: [Int]) throws -> UnsafeBufferPointer<Float> {
        guard let info = tensors[name] else { throw SafeTensorsError.missingTensor(name) }
        guard info.dtype == "F32" else { throw SafeTensorsError.wrongTensor(name, "dtype \(info.dtype), expected F32") }
        guard info.shape == expected else { throw SafeTensorsError.wrongTensor(name, "shape \(info.shape), expected \(expected)") }
        guard info.range.count == expected.reduce(1, *) * 4 else { throw SafeTensorsError.wrongTensor(name, "byte size does not match its shape") }
        let pointer = (base + dataStart + info.range.lowerBound).assumingMemoryBound(to: Float.self)
        return UnsafeBufferPointer(start: pointer, count: info.range.count / 4)
    }
}

public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case unreadable(String, String)
    case malformed(String, String)
    case missingTensor(String)
    case wrongTensor(String, String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .malformed(let path, let reason): "\(path) is not a valid safetensors file: \(reason)"
        case .missingTensor(let name): "the model has no tensor \(name)"
        case .wrongTensor(let name, let reason): "tensor \(name): \(reason)"
        }
    }
}
