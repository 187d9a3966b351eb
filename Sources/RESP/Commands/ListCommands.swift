extension RedisCommandSender {
    /// `LPUSH key value...`: the list length after the push.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    @discardableResult
    public func lpush(_ key: some RESPArgument, _ values: [any RESPArgument]) async throws -> Int {
        var command = RESPCommand("LPUSH", key)
        command.append(contentsOf: values)
        return try await send(command).decode()
    }

    /// `RPUSH key value...`: the list length after the push.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    @discardableResult
    public func rpush(_ key: some RESPArgument, _ values: [any RESPArgument]) async throws -> Int {
        var command = RESPCommand("RPUSH", key)
        command.append(contentsOf: values)
        return try await send(command).decode()
    }

    /// `RPOP key`: the last element, or `nil` when the list is empty.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    public func rpop(_ key: some RESPArgument) async throws -> [UInt8]? {
        try await send(RESPCommand("RPOP", key)).decode()
    }

    /// `LLEN key`.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    public func llen(_ key: some RESPArgument) async throws -> Int {
        try await send(RESPCommand("LLEN", key)).decode()
    }

    /// `LRANGE key start stop` (inclusive; negative indexes count from the end).
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    public func lrange(_ key: some RESPArgument, from start: Int = 0, to stop: Int = -1) async throws -> [[UInt8]] {
        try await send(RESPCommand("LRANGE", key, start, stop)).decode()
    }

    /// `LREM key count value`: the number of elements removed.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    @discardableResult
    public func lrem(_ key: some RESPArgument, count: Int, value: some RESPArgument) async throws -> Int {
        try await send(RESPCommand("LREM", key, count, value)).decode()
    }
}

/// The end of a list, for `LMOVE`/`BLMOVE`.
public enum ListEnd: String, Sendable, Hashable, RESPArgument {
    case left = "LEFT"
    case right = "RIGHT"

    public func appendRESPBytes(to buffer: inout [UInt8]) { rawValue.appendRESPBytes(to: &buffer) }
}
