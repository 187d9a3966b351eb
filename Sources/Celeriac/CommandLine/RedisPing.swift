import RESP

/// Checks that a Redis server answers: connect, `PING`, and read its version.
public struct RedisPing: Sendable {
    /// What a successful ping found.
    public struct Report: Sendable {
        /// The server's URL with the password redacted.
        public let server: String
        /// The server's reply to `PING` (`PONG`).
        public let reply: String
        /// The server's version, e.g. `7.0.15`.
        public let serverVersion: String
        /// The round-trip time of the `PING` alone.
        public let roundTrip: Duration
    }

    /// Connects to `url`, sends `PING` and `INFO server`, and closes the connection.
    /// - Throws: ``RedisClientError`` for a malformed URL or an unreachable server,
    ///   ``RedisServerError`` when the server refuses (e.g. `NOAUTH`).
    public static func ping(url: String, timeout: Duration = .seconds(5)) async throws -> Report {
        var configuration = try RedisConfiguration(url: url)
        configuration.connectTimeout = timeout
        configuration.commandTimeout = timeout
        configuration.clientName = configuration.clientName ?? "celeriac-ping"
        let connection = try await RedisConnection.connect(configuration)
        let clock = ContinuousClock()
        var reply = ""
        let roundTrip = try await clock.measure { reply = try await connection.ping() }
        let version = try await connection.serverVersion()
        await connection.close()
        return Report(server: configuration.redactedURL, reply: reply, serverVersion: version, roundTrip: roundTrip)
    }
}
