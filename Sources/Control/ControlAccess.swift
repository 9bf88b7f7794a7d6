import Foundation

/// The control socket's verbs.
public enum ControlVerb: String, CaseIterable, Sendable {
    case adapters, cancel, history, list, metrics, reload, retry, show, status
}

/// Who a peer of the control socket is to the daemon, decided from the kernel's `SO_PEERCRED`
/// answer, never from anything the client sends.
public enum ControlRole: Equatable, Sendable, CustomStringConvertible {
    /// Root, the daemon's own user, or a member of the control group: every verb, every workflow.
    case `operator`
    /// A member of the submit group: the workflows of the drops it owned, nothing else.
    case submitter(uid: UInt32)
    /// Anyone else. The socket is world-connectable so that this check, not the file mode,
    /// decides; such a peer gets a refusal and nothing more.
    case stranger(uid: UInt32)

    public var description: String {
        switch self {
        case .operator: "operator"
        case .submitter(let uid): "submitter uid \(uid)"
        case .stranger(let uid): "uid \(uid)"
        }
    }
}

/// What a role may do with a verb.
public enum ControlScope: Equatable, Sendable {
    case everything
    /// Only workflows whose drop this uid owned at claim time; others look like they do not
    /// exist, so a submitter cannot even learn another's workflow ids.
    case ownWorkflows(uid: UInt32)
    case refused(String)
}

/// The rules, in one place: the README's table of verbs says the same.
public struct ControlAccess: Sendable {
    /// The group whose members operate the daemon (`control_group`; the daemon's own group when empty).
    public var operatorGroup: UInt32?
    /// The group whose members may submit (`[inbox] submit_group`).
    public var submitGroup: UInt32?
    public var daemonUID: UInt32
    /// The groups a peer is in: its primary group from the socket, and the user database's.
    public var groups: @Sendable (ControlPeer) -> Set<UInt32>

    public init(
        operatorGroup: UInt32?, submitGroup: UInt32?, daemonUID: UInt32 = geteuid(),
        groups: @escaping @Sendable (ControlPeer) -> Set<UInt32> = ControlAccess.userDatabaseGroups
    ) {
        self.operatorGroup = operatorGroup
        self.submitGroup = submitGroup
        self.daemonUID = daemonUID
        self.groups = groups
    }

    /// From group names; an unknown name matches nobody.
    public init(operatorGroupName: String?, submitGroupName: String) {
        let operatorGroup: UInt32? = if let operatorGroupName { Self.gid(of: operatorGroupName) } else { getegid() }
        self.init(operatorGroup: operatorGroup, submitGroup: Self.gid(of: submitGroupName))
    }

    static func gid(of name: String) -> UInt32? { getgrnam(name).map { $0.pointee.gr_gid } }

    public func role(of peer: ControlPeer) -> ControlRole {
        // An unreadable SO_PEERCRED reports uid -1: nobody.
        guard peer.uid != UInt32.max else { return .stranger(uid: peer.uid) }
        if peer.uid == 0 || peer.uid == daemonUID { return .operator }
        let memberships = groups(peer)
        if let operatorGroup, memberships.contains(operatorGroup) { return .operator }
        if let submitGroup, memberships.contains(submitGroup) { return .submitter(uid: peer.uid) }
        return .stranger(uid: peer.uid)
    }

    public static func scope(of role: ControlRole, for verb: ControlVerb) -> ControlScope {
        switch (role, verb) {
        case (.operator, _):
            return .everything
        case (.submitter, .status), (.submitter, .adapters):
            // Counts and the model tables say nothing about anyone's data; live resources are
            // filtered to the submitter's own by the handler.
            return .everything
        case (.submitter(let uid), .list), (.submitter(let uid), .show), (.submitter(let uid), .history),
            (.submitter(let uid), .cancel), (.submitter(let uid), .retry):
            return .ownWorkflows(uid: uid)
        case (.submitter, .reload):
            return .refused("reload is for root and the control group only")
        case (.submitter, .metrics):
            // Counts by profile, model and backend describe everyone's work, not the submitter's.
            return .refused("metrics are for root and the control group only")
        case (.stranger(let uid), _):
            return .refused("uid \(uid) is neither in the control group nor in the submit group")
        }
    }

    /// The peer's primary group and the supplementary groups the user database gives its user.
    public static let userDatabaseGroups: @Sendable (ControlPeer) -> Set<UInt32> = { peer in
        var result: Set<UInt32> = [peer.gid]
        guard let entry = getpwuid(peer.uid) else { return result }
        let name = String(cString: entry.pointee.pw_name)
        var count: Int32 = 64
        var list = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(name, peer.gid, &list, &count) < 0 {
            list = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(name, peer.gid, &list, &count)
        }
        result.formUnion(list.prefix(Int(max(0, count))))
        return result
    }
}
