import Foundation

/// Which daemon ("node") may drive a workflow, and with which fencing number.
///
/// A node drives a workflow only while it holds the workflow's lease. Every acquisition
/// raises the workflow's epoch by one, and every write a runner makes carries the epoch it
/// acquired with: the store refuses it (`StoreError.leaseLost`) once another node has taken
/// the lease, however late the old holder wakes up. Expiry decides only when another node
/// may take over; the epoch decides whose writes count.
public struct WorkflowLease: Sendable, Equatable, CustomStringConvertible {
    public var workflowID: String
    public var node: NodeID
    public var epoch: Int

    public init(workflowID: String, node: NodeID, epoch: Int) {
        self.workflowID = workflowID
        self.node = node
        self.epoch = epoch
    }

    public var description: String { "\(workflowID) held by \(node) (lease \(epoch))" }
}

/// A daemon sharing a store: `[store] node_id`, by default the machine id. Two daemons with
/// one node id on one store would fence each other out; the second is refused at start.
public struct NodeID: Sendable, Hashable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    public var description: String { rawValue }

    /// This machine's id (`/etc/machine-id`), the default; the host name where there is none.
    public static func machine(machineIDFile: String = "/etc/machine-id") -> NodeID {
        if let data = FileManager.default.contents(atPath: machineIDFile) {
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.count == 32, text.allSatisfy(\.isHexDigit) { return NodeID(text) }
        }
        return NodeID(ProcessInfo.processInfo.hostName)
    }
}

/// A node as the store knows it: what `finetunectl status` lists.
public struct NodeRecord: Sendable, Equatable, Codable {
    public var id: NodeID
    public var version: String
    public var startedAt: Date
    public var heartbeatAt: Date
    /// Workflows whose lease this node holds and which are not finished (filled in on read).
    public var workflowsHeld: Int

    public init(id: NodeID, version: String, startedAt: Date, heartbeatAt: Date, workflowsHeld: Int = 0) {
        self.id = id
        self.version = version
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.workflowsHeld = workflowsHeld
    }
}

/// Who drives a workflow now, as `finetunectl show` reports it.
public struct WorkflowDriver: Sendable, Equatable, Codable {
    /// The node holding the lease (nil: nobody yet, or released).
    public var node: NodeID?
    public var epoch: Int
    /// Seconds until the lease expires, by the store's clock (negative: expired).
    public var expiresIn: Double?
    /// The node the workflow must run on: the one that claimed it, until its training data is
    /// uploaded; for good on a backend that trains on its own host (local).
    public var pinnedTo: NodeID?

    public init(node: NodeID?, epoch: Int, expiresIn: Double?, pinnedTo: NodeID?) {
        self.node = node
        self.epoch = epoch
        self.expiresIn = expiresIn
        self.pinnedTo = pinnedTo
    }
}
