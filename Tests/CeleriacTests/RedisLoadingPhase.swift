import RESP
import RedisTestSupport
import Testing

/// A redis-server made to reload its data, so that it answers `LOADING` for a while, as it does
/// right after a restart. The server must run with `--enable-debug-command yes`.
struct RedisLoadingPhase {
    private let filler: RedisConnection
    private let probe: RedisConnection
    private let reload: Task<RESPValue, any Error>

    /// Fills database 2 with 20,000 keys and makes reading each back take 100 µs
    /// (`key-load-delay`), answering clients between every KiB read
    /// (`loading-process-events-interval-bytes`): a loading phase of 2 s or more whatever the
    /// machine's speed, where a million keys gave ~0.3 s, too short to be seen on a loaded machine.
    /// Starts `DEBUG RELOAD` and returns once a write to database 3 is refused with `LOADING`.
    /// The two connections, both made before, wait out the save that comes first.
    /// - Throws: when Redis cannot be reached, or never answered `LOADING` (recorded as an issue).
    static func begin(on server: RedisServerProcess) async throws -> RedisLoadingPhase {
        func patientConnection(database: Int) async throws -> RedisConnection {
            var configuration = try RedisConfiguration(url: server.url(database: database))
            configuration.connectTimeout = .seconds(120)
            configuration.commandTimeout = .seconds(120)
            return try await RedisConnection.connect(configuration)
        }
        let filler = try await patientConnection(database: 2)
        try await filler.send("DEBUG", "POPULATE", 20_000)
        try await filler.send("CONFIG", "SET", "key-load-delay", 100)
        try await filler.send("CONFIG", "SET", "loading-process-events-interval-bytes", 1024)
        let probe = try await patientConnection(database: 3)
        let reload = Task { try await filler.send("DEBUG", "RELOAD") }
        var loading = false
        for _ in 0..<2000 where !loading {
            do {
                try await probe.send("SET", "probe", "1")
                try await Task.sleep(for: .milliseconds(2))
            } catch let error as RedisServerError where error.code == "LOADING" {
                loading = true
            }
        }
        #expect(loading, "Redis never answered LOADING")
        return RedisLoadingPhase(filler: filler, probe: probe, reload: reload)
    }

    /// Waits until the server has loaded its data again, and closes the connections.
    func end() async throws {
        _ = try await reload.value
        await filler.close()
        await probe.close()
    }
}
