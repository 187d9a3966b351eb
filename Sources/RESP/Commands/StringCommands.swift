extension RedisCommandSender {
    /// `PING`: returns `PONG`.
    /// - Throws: connection errors.
    @discardableResult
    public func ping() async throws -> String {
        try await send(RESPCommand("PING")).decode()
    }

    /// `GET key`: the value, or `nil` when the key does not exist.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    public func get(_ key: some RESPArgument) async throws -> [UInt8]? {
        try await send(RESPCommand("GET", key)).decode()
    }

    /// `GET key` decoded as UTF-8 text, or `nil` when the key does not exist.
    /// - Throws: ``RedisServerError`` (`WRONGTYPE`), connection errors.
    public func getString(_ key: some RESPArgument) async throws -> String? {
        try await send(RESPCommand("GET", key)).decode()
    }

    /// `SET key value [PX ms] [NX|XX]`: returns whether the value was set (false when `NX`/`XX` prevented it).
    /// - Throws: connection errors.
    @discardableResult
    public func set(
        _ key: some RESPArgument, to value: some RESPArgument, expiration: Duration? = nil,
        condition: SetCondition = .always
    ) async throws -> Bool {
        var command = RESPCommand("SET", key, value)
        if let expiration {
            command.append("PX")
            command.append(expiration.expiryMilliseconds)
        }
        switch condition {
        case .always: break
        case .ifNotExists: command.append("NX")
        case .ifExists: command.append("XX")
        }
        return try await !send(command).isNull
    }

    /// `DEL key...`: the number of keys removed.
    /// - Throws: connection errors.
    @discardableResult
    public func delete(_ keys: [any RESPArgument]) async throws -> Int {
        try await send(RESPCommand("DEL", arguments: keys)).decode()
    }

    /// `EXISTS key...`: how many of the keys exist.
    /// - Throws: connection errors.
    public func exists(_ keys: [any RESPArgument]) async throws -> Int {
        try await send(RESPCommand("EXISTS", arguments: keys)).decode()
    }

    /// `PEXPIRE key ms`: whether the key exists and got the expiry.
    /// - Throws: connection errors.
    @discardableResult
    public func expire(_ key: some RESPArgument, after duration: Duration) async throws -> Bool {
        try await send(RESPCommand("PEXPIRE", key, duration.expiryMilliseconds)).decode()
    }

    /// `PTTL key`: the remaining time to live, or `nil` when the key does not exist or never expires.
    /// - Throws: connection errors.
    public func timeToLive(_ key: some RESPArgument) async throws -> Duration? {
        let milliseconds: Int = try await send(RESPCommand("PTTL", key)).decode()
        return milliseconds >= 0 ? .milliseconds(milliseconds) : nil
    }

    /// `INCRBY key n`: the value after the increment.
    /// - Throws: ``RedisServerError`` when the value is not an integer, connection errors.
    @discardableResult
    public func increment(_ key: some RESPArgument, by amount: Int = 1) async throws -> Int {
        try await send(RESPCommand("INCRBY", key, amount)).decode()
    }
}

/// The condition of a `SET`.
public enum SetCondition: Sendable, Hashable {
    /// Set in any case.
    case always
    /// `NX`: set only when the key does not exist.
    case ifNotExists
    /// `XX`: set only when the key exists.
    case ifExists
}
