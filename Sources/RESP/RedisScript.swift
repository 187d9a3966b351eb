/// A Lua script, identified by the SHA1 of its source as Redis' script cache does.
///
/// Run it with ``RedisConnection/evalScript(_:keys:arguments:)``: it is called by hash
/// (`EVALSHA`) and sent in full (`EVAL`) only when the server does not know it yet.
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// The lower-case hex SHA1 of ``source``, the name `EVALSHA` takes.
    public let sha1: String

    /// Creates a script from its Lua source.
    public init(_ source: String) {
        self.source = source
        self.sha1 = SHA1.hexDigest(Array(source.utf8))
    }

    func command(keys: [any RESPArgument], arguments: [any RESPArgument], bySHA: Bool) -> RESPCommand {
        var command = bySHA ? RESPCommand("EVALSHA", sha1) : RESPCommand("EVAL", source)
        command.append(keys.count)
        command.append(contentsOf: keys)
        command.append(contentsOf: arguments)
        return command
    }
}
