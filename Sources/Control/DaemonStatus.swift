import Foundation

/// What `finetunectl status` shows: enough to tell at a glance which daemon is running, on
/// which configuration, and whether it is busy.
public struct DaemonStatus: Codable, Sendable, Equatable {
    public var daemonVersion: String
    public var protocolVersion: Int
    public var pid: Int32
    public var startedAt: Date
    public var uptimeSeconds: Double
    public var configurationFile: String
    /// When the configuration in force was loaded, and how many reloads succeeded / failed.
    public var configurationLoadedAt: Date
    public var reloads: Int
    public var failedReloads: Int
    public var lastReloadError: String?
    public var adapterDirectories: [String]
    public var inbox: String
    public var stateDirectory: String
    public var profiles: [String]
    public var counts: WorkflowCounts
    public var summary: String

    public init(
        daemonVersion: String, protocolVersion: Int = ControlProtocol.version, pid: Int32,
        startedAt: Date, uptimeSeconds: Double, configurationFile: String,
        configurationLoadedAt: Date, reloads: Int, failedReloads: Int, lastReloadError: String?,
        adapterDirectories: [String], inbox: String, stateDirectory: String, profiles: [String],
        counts: WorkflowCounts, summary: String
    ) {
        self.daemonVersion = daemonVersion
        self.protocolVersion = protocolVersion
        self.pid = pid
        self.startedAt = startedAt
        self.uptimeSeconds = uptimeSeconds
        self.configurationFile = configurationFile
        self.configurationLoadedAt = configurationLoadedAt
        self.reloads = reloads
        self.failedReloads = failedReloads
        self.lastReloadError = lastReloadError
        self.adapterDirectories = adapterDirectories
        self.inbox = inbox
        self.stateDirectory = stateDirectory
        self.profiles = profiles
        self.counts = counts
        self.summary = summary
    }
}

public struct WorkflowCounts: Codable, Sendable, Equatable {
    public var running: Int
    public var waiting: Int
    public var succeeded: Int
    public var failed: Int

    public init(running: Int = 0, waiting: Int = 0, succeeded: Int = 0, failed: Int = 0) {
        self.running = running
        self.waiting = waiting
        self.succeeded = succeeded
        self.failed = failed
    }
}
