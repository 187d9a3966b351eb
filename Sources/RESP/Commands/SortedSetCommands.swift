extension RedisCommandSender {
    /// `ZADD key score member [score member ...]`: the number of members added.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    @discardableResult
    public func zadd(_ key: some RESPArgument, _ members: [(score: Double, member: any RESPArgument)]) async throws
        -> Int
    {
        var command = RESPCommand("ZADD", key)
        for (score, member) in members {
            command.append(score)
            command.append(member)
        }
        return try await send(command).decode()
    }

    /// `ZREM key member...`: the number of members removed.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    @discardableResult
    public func zrem(_ key: some RESPArgument, _ members: [any RESPArgument]) async throws -> Int {
        var command = RESPCommand("ZREM", key)
        command.append(contentsOf: members)
        return try await send(command).decode()
    }

    /// `ZCARD key`.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    public func zcard(_ key: some RESPArgument) async throws -> Int {
        try await send(RESPCommand("ZCARD", key)).decode()
    }

    /// `ZSCORE key member`, or `nil` when the member is absent.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    public func zscore(_ key: some RESPArgument, _ member: some RESPArgument) async throws -> Double? {
        try await send(RESPCommand("ZSCORE", key, member)).decode()
    }

    /// `ZRANGE key min max BYSCORE [LIMIT 0 count] WITHSCORES`: members with scores in `[min, max]`,
    /// lowest first.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    public func zrangeByScore(
        _ key: some RESPArgument, min: Double = -.infinity, max: Double = .infinity, limit: Int? = nil
    ) async throws -> [(member: [UInt8], score: Double)] {
        var command = RESPCommand("ZRANGE", key, min, max, "BYSCORE")
        if let limit {
            command.append("LIMIT")
            command.append(0)
            command.append(limit)
        }
        command.append("WITHSCORES")
        let flat = try await send(command).decode(as: [RESPValue].self)
        var result: [(member: [UInt8], score: Double)] = []
        var index = 0
        while index + 1 < flat.count {
            result.append((try flat[index].decode(), try flat[index + 1].decode()))
            index += 2
        }
        return result
    }
}
