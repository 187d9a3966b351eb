/// Something that sends Redis commands: a ``RedisConnection`` or a ``RedisConnectionPool``.
///
/// The typed command helpers (`get`, `lpush`, `zadd`, `publish`, ...) are extensions of this
/// protocol, so they work the same on a single connection and on a pool.
public protocol RedisCommandSender: Sendable {
    /// Sends one command and returns its reply.
    /// - Throws: ``RedisServerError`` for an error reply, ``RedisClientError`` for connection failures.
    @discardableResult
    func send(_ command: RESPCommand) async throws -> RESPValue

    /// Sends the commands in one round trip; error replies come back in place as ``RESPValue/error(_:)``.
    /// The commands are ``RESPCommand``s, or values that write their own encoding.
    /// - Throws: ``RedisClientError`` for connection failures.
    func pipeline<Command: RESPCommandEncodable>(_ commands: [Command]) async throws -> [RESPValue]

    /// Runs the commands inside `MULTI`/`EXEC` and returns the `EXEC` replies.
    /// - Throws: ``RedisServerError`` (`EXECABORT`), ``RedisClientError`` (`transactionAborted`,
    ///   connection failures).
    func transaction(_ commands: [RESPCommand]) async throws -> [RESPValue]

    /// Runs a Lua script by SHA1 with an `EVAL` fallback on `NOSCRIPT`.
    /// - Throws: ``RedisServerError`` for script errors, ``RedisClientError`` for connection failures.
    @discardableResult
    func evalScript(_ script: RedisScript, keys: [any RESPArgument], arguments: [any RESPArgument]) async throws
        -> RESPValue
}

extension RedisCommandSender {
    /// Sends a command given as its name and arguments, e.g. `send("HSET", key, field, value)`.
    /// - Throws: ``RedisServerError`` for an error reply, ``RedisClientError`` for connection failures.
    @discardableResult
    public func send(_ name: String, _ arguments: any RESPArgument...) async throws -> RESPValue {
        try await send(RESPCommand(name, arguments: arguments))
    }

    /// Runs a Lua script without keys or arguments; see ``evalScript(_:keys:arguments:)``.
    /// - Throws: as ``evalScript(_:keys:arguments:)``.
    @discardableResult
    public func evalScript(_ script: RedisScript) async throws -> RESPValue {
        try await evalScript(script, keys: [], arguments: [])
    }
}

extension RedisCommandSender {
    /// Runs one Lua script many times in one pipeline (`EVALSHA` each). When the server does not
    /// know the script (`NOSCRIPT`), loads it and runs the refused calls again, in order.
    /// - Returns: one reply per call, in order; script errors are `.error` replies, not thrown.
    /// - Throws: ``RedisClientError`` for connection errors; ``RedisServerError`` when loading fails.
    public func evalScriptPipeline(
        _ script: RedisScript, calls: [(keys: [any RESPArgument], arguments: [any RESPArgument])]
    ) async throws -> [RESPValue] {
        guard !calls.isEmpty else { return [] }
        let commands = calls.map { script.command(keys: $0.keys, arguments: $0.arguments, bySHA: true) }
        var replies = try await pipeline(commands)
        let refused = replies.indices.filter { replies[$0].serverError?.code == "NOSCRIPT" }
        if !refused.isEmpty {
            _ = try await send(RESPCommand("SCRIPT", "LOAD", script.source))
            let again = try await pipeline(refused.map { commands[$0] })
            for (index, reply) in zip(refused, again) { replies[index] = reply }
        }
        return replies
    }
}
