extension RedisCommandSender {
    /// `PUBLISH channel message`: the number of subscribers that received it.
    /// - Throws: connection errors.
    @discardableResult
    public func publish(_ channel: some RESPArgument, _ message: some RESPArgument) async throws -> Int {
        try await send(RESPCommand("PUBLISH", channel, message)).decode()
    }
}
