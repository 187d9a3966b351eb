import RESP
import RedisTestSupport

/// Waits until `count` clients of the server `observer` is connected to are blocked in `command`
/// (as `CLIENT LIST` shows them, e.g. `brpop`). Returns whether that happened within ~5 s.
func waitForBlockedClients(_ count: Int = 1, in command: String = "brpop", observer: RedisConnection) async throws
    -> Bool
{
    try await eventually {
        let clients = try await observer.send("CLIENT", "LIST").string ?? ""
        return clients.components(separatedBy: "cmd=\(command)").count - 1 >= count
    }
}
