/// Runs `body` with a private redis-server that is stopped (by pid) and removed afterwards,
/// whether `body` returns or throws.
/// - Throws: ``RedisServerProcess/Failure`` when the server cannot start; whatever `body` throws.
public func withRedisServer<T>(
    extraArguments: [String] = [], unixSocket: Bool = false,
    _ body: (RedisServerProcess) async throws -> T
) async throws -> T {
    let server = try await RedisServerProcess.start(extraArguments: extraArguments, unixSocket: unixSocket)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// Polls `condition` every 20 ms until it holds or `attempts` polls have failed.
/// Returns whether it held; for waiting on another process, never for measuring speed.
public func eventually(attempts: Int = 250, _ condition: () async throws -> Bool) async rethrows -> Bool {
    for _ in 0..<attempts {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return false
}
