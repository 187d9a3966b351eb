extension RedisConnection {
    /// `BRPOP key... timeout`: waits up to `timeout` for an element at the tail of the first non-empty
    /// list, in key order. Returns the list's key and the element, or `nil` on timeout.
    /// Interrupted at once (throwing `CancellationError`) when the calling task is cancelled.
    /// - Throws: `CancellationError`, ``RedisServerError`` (`WRONGTYPE`), ``RedisClientError``.
    public nonisolated func brpop(_ keys: [any RESPArgument], timeout: Duration) async throws
        -> (key: [UInt8], value: [UInt8])?
    {
        var command = RESPCommand("BRPOP", arguments: keys)
        command.append(timeout.secondsValue)
        let reply = try await sendBlocking(command, timeout: timeout)
        if reply.isNull { return nil }
        let pair: [[UInt8]] = try reply.decode()
        guard pair.count == 2 else { throw RedisClientError.unexpectedReply(reply, expected: "[key, value]") }
        return (pair[0], pair[1])
    }

    /// `BLMOVE source destination from to timeout`: waits up to `timeout` to move one element, and
    /// returns it, or `nil` on timeout. Interrupted at once when the calling task is cancelled.
    /// - Throws: `CancellationError`, ``RedisServerError`` (`WRONGTYPE`), ``RedisClientError``.
    public nonisolated func blmove(
        from source: some RESPArgument, to destination: some RESPArgument,
        sourceEnd: ListEnd = .right, destinationEnd: ListEnd = .left, timeout: Duration
    ) async throws -> [UInt8]? {
        let command = RESPCommand("BLMOVE", source, destination, sourceEnd, destinationEnd, timeout.secondsValue)
        return try await sendBlocking(command, timeout: timeout).decode()
    }

    /// `BZPOPMIN key... timeout`: waits up to `timeout` for the lowest-scored member of the first
    /// non-empty sorted set and returns it, or `nil` on timeout.
    /// - Throws: `CancellationError`, ``RedisServerError`` (`WRONGTYPE`), ``RedisClientError``.
    public nonisolated func bzpopmin(_ keys: [any RESPArgument], timeout: Duration) async throws
        -> (key: [UInt8], member: [UInt8], score: Double)?
    {
        var command = RESPCommand("BZPOPMIN", arguments: keys)
        command.append(timeout.secondsValue)
        let reply = try await sendBlocking(command, timeout: timeout)
        if reply.isNull { return nil }
        let triple: [RESPValue] = try reply.decode()
        guard triple.count == 3 else { throw RedisClientError.unexpectedReply(reply, expected: "[key, member, score]") }
        return (try triple[0].decode(), try triple[1].decode(), try triple[2].decode())
    }
}
