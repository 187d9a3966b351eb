import Foundation
import RESP
import RedisTestSupport
import Testing

/// Connections made on a given thread, and a loop preferring that thread: the arrangement the
/// worker's fetch loop and result writer use so that an awaited command switches no thread.
@Suite struct SharedThreadTests {
    @Test func aLoopOnItsConnectionsThreadNeverLeavesIt() async throws {
        try await withRedisServer { server in
            let thread = DedicatedThreadExecutor(name: "test-shared")
            defer { thread.stop() }
            let configuration = try RedisConfiguration(url: server.url())
            let connection = try await RedisConnection.connect(configuration, on: thread)
            let pool = RedisConnectionPool(configuration, connectionsOn: thread)
            #expect(connection.executor === thread)
            #expect(pool.executor === thread)

            let seen = try await Task(executorPreference: thread) { () async throws -> [UInt] in
                var seen = [UInt(pthread_self())]
                for _ in 0..<20 {
                    try await connection.send("PING")
                    seen.append(UInt(pthread_self()))
                    try await pool.send("INCR", "counter")
                    seen.append(UInt(pthread_self()))
                }
                // Where the connection's own commands run.
                seen.append(await connection.withIsolation { _ in UInt(pthread_self()) })
                return seen
            }.value
            #expect(Set(seen).count == 1)
            #expect(try await connection.send("GET", "counter").string == "20")
            await pool.close()
            await connection.close()
        }
    }
}
