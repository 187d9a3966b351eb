/// What applying a canvas gives back: one task's result (a task, or a chain's last step), a
/// group's results, or a chord's.
public enum CanvasResult: Sendable {
    case task(AsyncResult)
    case group(GroupResult)
    case chord(ChordResult)

    /// The id to wait on: the task (or last step), the group, the chord body.
    public var id: String {
        switch self {
        case .task(let result): return result.id
        case .group(let result): return result.id
        case .chord(let result): return result.body.id
        }
    }

    /// The single task result (a task, a chain's last step, or a chord's body); `nil` for a group.
    public var asyncResult: AsyncResult? {
        switch self {
        case .task(let result): return result
        case .chord(let result): return result.body
        case .group: return nil
        }
    }

    /// The group's results, for a group (or a chain ending in one); a chord's header.
    public var groupResult: GroupResult? {
        switch self {
        case .group(let result): return result
        case .chord(let result): return result.header
        case .task: return nil
        }
    }

    /// Waits for the outcome: the task's (or body's) result, or a group's results as an array.
    /// - Throws: as ``AsyncResult/get(timeout:)`` and ``GroupResult/get(timeout:)``.
    public func get(timeout: Duration? = nil) async throws -> JSONValue {
        switch self {
        case .task(let result): return try await result.get(timeout: timeout)
        case .chord(let result): return try await result.get(timeout: timeout)
        case .group(let result): return .array(try await result.get(timeout: timeout))
        }
    }

    /// Waits for the outcome, as ``get(timeout:)``, and decodes it as `type` (for a group, an
    /// array type such as `[Int].self`).
    /// - Throws: as ``get(timeout:)``, and ``CeleriacError`` with code `encoding` when the outcome
    ///   does not decode as `type`.
    public func get<Value: Decodable>(as type: Value.Type, timeout: Duration? = nil) async throws -> Value {
        try await get(timeout: timeout).decode(as: type)
    }

    init(_ node: CanvasPlan.Node, backend: RedisResultBackend) {
        switch node {
        case .task(let id):
            self = .task(AsyncResult(id: id, backend: backend))
        case .group(let id, let members):
            self = .group(Self.group(id, members, backend))
        case .chord(let body, let header):
            let headerResult: GroupResult
            if case .group(let id, let members) = header {
                headerResult = Self.group(id, members, backend)
            } else {
                headerResult = GroupResult(id: header.id, results: [], backend: backend)
            }
            self = .chord(ChordResult(body: AsyncResult(id: body, backend: backend), header: headerResult))
        }
    }

    private static func group(_ id: String, _ members: [CanvasPlan.Node], _ backend: RedisResultBackend) -> GroupResult {
        GroupResult(id: id, results: members.map { AsyncResult(id: $0.id, backend: backend) }, backend: backend)
    }
}
