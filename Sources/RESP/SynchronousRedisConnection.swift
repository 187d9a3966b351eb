import Synchronization

/// A connection to Redis whose commands run on the calling thread, which blocks until the reply.
///
/// For code on a thread that may block anyway (a worker's task threads): a command then costs no
/// switch to a connection thread and back, which ``RedisConnection`` (an actor on a thread of its
/// own) costs whenever the caller runs elsewhere. Never call it from Swift's cooperative pool: a
/// blocked cooperative thread stalls other tasks.
///
/// Commands run one at a time (a lock held for each command's round trip). Like
/// ``RedisConnection``, it never reconnects: after a connection error or a timeout it is closed, and
/// later commands fail with ``RedisClientError/Code/connectionClosed``.
public final class SynchronousRedisConnection: Sendable {
    /// The configuration this connection was made from.
    public let configuration: RedisConfiguration
    private let core: Mutex<Core>

    /// The context (`nil` once closed) and the reused command encoder.
    private struct Core {
        var context: HiredisContext?
        var writer = RESPCommandWriter()
    }

    private init(configuration: RedisConfiguration, context: sending HiredisContext) {
        self.configuration = configuration
        self.core = Mutex(Core(context: context))
    }

    /// Connects (blocking the calling thread) and performs AUTH, SELECT and CLIENT SETNAME as
    /// configured.
    /// - Throws: ``RedisClientError`` (`connectionFailed`, `timeout`, `authenticationFailed`,
    ///   `invalidConfiguration`).
    public static func connect(_ configuration: RedisConfiguration) throws -> SynchronousRedisConnection {
        SynchronousRedisConnection(configuration: configuration, context: try HiredisContext.connect(configuration))
    }

    /// Whether the connection is open: no error or ``close()`` has closed it.
    public var isOpen: Bool { core.withLock { $0.context != nil } }

    /// Closes the connection (after the command under way, if any). Later commands fail with
    /// ``RedisClientError/Code/connectionClosed``.
    public func close() {
        core.withLock { $0.context = nil }
    }

    /// Sends one command and blocks until its reply.
    /// - Throws: ``RedisServerError`` when Redis answers with an error reply (the connection stays
    ///   usable); ``RedisClientError`` when the connection fails or times out (it is then closed).
    @discardableResult
    public func send(_ command: RESPCommand) throws -> RESPValue {
        let reply = try core.withLock { core in
            guard let context = core.context else {
                throw RedisClientError(
                    .connectionClosed, "the connection to Redis at \(configuration.redactedURL) is closed")
            }
            do {
                core.writer.write(command)
                defer { core.writer.removeAll() }
                try context.write(core.writer.bytes)
                return try context.readReply()
            } catch let error as RedisClientError {
                core.context = nil
                throw error
            }
        }
        if case .error(let error) = reply { throw error }
        return reply
    }

    /// Runs a Lua script by its SHA1 (`EVALSHA`), falling back to `EVAL` (which also caches it in
    /// the server) when the server answers `NOSCRIPT`.
    /// - Throws: ``RedisServerError`` for script errors; ``RedisClientError`` for connection errors.
    @discardableResult
    public func evalScript(
        _ script: RedisScript, keys: [any RESPArgument] = [], arguments: [any RESPArgument] = []
    ) throws -> RESPValue {
        do {
            return try send(script.command(keys: keys, arguments: arguments, bySHA: true))
        } catch let error as RedisServerError where error.code == "NOSCRIPT" {
            return try send(script.command(keys: keys, arguments: arguments, bySHA: false))
        }
    }
}
