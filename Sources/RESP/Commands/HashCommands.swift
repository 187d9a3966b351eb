extension RedisCommandSender {
    /// `HSET key field value [field value ...]`: the number of fields added (not updated).
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    @discardableResult
    public func hset(_ key: some RESPArgument, fields: [(any RESPArgument, any RESPArgument)]) async throws -> Int {
        var command = RESPCommand("HSET", key)
        for (field, value) in fields {
            command.append(field)
            command.append(value)
        }
        return try await send(command).decode()
    }

    /// `HGET key field`: the value, or `nil`.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    public func hget(_ key: some RESPArgument, field: some RESPArgument) async throws -> [UInt8]? {
        try await send(RESPCommand("HGET", key, field)).decode()
    }

    /// `HDEL key field...`: the number of fields removed.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    @discardableResult
    public func hdel(_ key: some RESPArgument, fields: [any RESPArgument]) async throws -> Int {
        var command = RESPCommand("HDEL", key)
        command.append(contentsOf: fields)
        return try await send(command).decode()
    }

    /// `HGETALL key` as a dictionary from field to value (fields decoded as UTF-8).
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    public func hgetall(_ key: some RESPArgument) async throws -> [String: [UInt8]] {
        let flat: [[UInt8]] = try await send(RESPCommand("HGETALL", key)).decode()
        var result: [String: [UInt8]] = [:]
        var index = 0
        while index + 1 < flat.count {
            result[String(decoding: flat[index], as: UTF8.self)] = flat[index + 1]
            index += 2
        }
        return result
    }
}
