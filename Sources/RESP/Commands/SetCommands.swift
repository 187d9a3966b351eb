extension RedisCommandSender {
    /// `SADD key member...`: the number of members added.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    @discardableResult
    public func sadd(_ key: some RESPArgument, _ members: [any RESPArgument]) async throws -> Int {
        var command = RESPCommand("SADD", key)
        command.append(contentsOf: members)
        return try await send(command).decode()
    }

    /// `SREM key member...`: the number of members removed.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    @discardableResult
    public func srem(_ key: some RESPArgument, _ members: [any RESPArgument]) async throws -> Int {
        var command = RESPCommand("SREM", key)
        command.append(contentsOf: members)
        return try await send(command).decode()
    }

    /// `SMEMBERS key`.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    public func smembers(_ key: some RESPArgument) async throws -> [[UInt8]] {
        try await send(RESPCommand("SMEMBERS", key)).decode()
    }

    /// `SISMEMBER key member`.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    public func sismember(_ key: some RESPArgument, _ member: some RESPArgument) async throws -> Bool {
        try await send(RESPCommand("SISMEMBER", key, member)).decode()
    }
}
