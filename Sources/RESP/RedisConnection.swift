import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One connection to Redis, with a dedicated thread for its blocking I/O.
///
/// The actor runs on its own OS thread (its executor), so hiredis' blocking reads and writes never
/// park a cooperative thread of Swift concurrency: callers simply `await` the methods.
/// Commands on one connection run one at a time, in call order.
///
/// A connection does not reconnect: after a connection error or a timeout it is closed, and every
/// later command fails at once with ``RedisClientError/Code/connectionClosed``. Use
/// ``RedisConnectionPool`` for a client that replaces broken connections, and a connection of its own
/// for blocking commands (`BRPOP` and friends), which hold the connection while they wait.
public actor RedisConnection: RedisCommandSender {
    /// The configuration this connection was made from.
    public nonisolated let configuration: RedisConfiguration

    /// The thread this connection's commands run on.
    public nonisolated let executor: DedicatedThreadExecutor
    /// Whether the connection made its thread (and stops it when deinitialised).
    private let ownsExecutor: Bool
    private var context: HiredisContext?
    /// Reused for encoding commands, so that sending allocates nothing once it has grown.
    private var writer = RESPCommandWriter()
    /// The socket as seen from other threads: used to interrupt a blocking call and to probe liveness.
    private let socket = Mutex(SocketState())

    private struct SocketState {
        var fileDescriptor: Int32?
        var interrupted = false
    }

    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        executor.asUnownedSerialExecutor()
    }

    private init(configuration: RedisConfiguration, executor: DedicatedThreadExecutor?) {
        self.configuration = configuration
        self.executor = executor ?? DedicatedThreadExecutor(name: "celeriac-redis")
        self.ownsExecutor = executor == nil
    }

    deinit {
        if ownsExecutor { executor.stop() }
    }

    /// Connects to Redis and performs AUTH, SELECT and CLIENT SETNAME as configured.
    ///
    /// - Parameter executor: the thread to run on; by default the connection makes its own. Pass
    ///   the thread a loop runs on (see ``DedicatedThreadExecutor``) to await commands without
    ///   switching threads. Connections sharing a thread run their commands one at a time.
    /// - Throws: ``RedisClientError`` (`connectionFailed`, `timeout`, `authenticationFailed`,
    ///   `invalidConfiguration`).
    public static func connect(
        _ configuration: RedisConfiguration, on executor: DedicatedThreadExecutor? = nil
    ) async throws -> RedisConnection {
        let connection = RedisConnection(configuration: configuration, executor: executor)
        try await connection.open()
        return connection
    }

    /// Connects to the Redis server at `url`; see ``RedisConfiguration/init(url:)`` for the URL forms.
    /// - Throws: ``RedisClientError`` for a malformed URL or a failed connection.
    public static func connect(url: String) async throws -> RedisConnection {
        try await connect(RedisConfiguration(url: url))
    }

    private func open() throws {
        let newContext = try HiredisContext.connect(configuration)
        context = newContext
        socket.withLock { $0 = SocketState(fileDescriptor: newContext.fileDescriptor) }
    }

    // MARK: Commands

    /// Sends one command and waits for its reply.
    /// - Throws: ``RedisServerError`` when Redis answers with an error reply (the connection stays
    ///   usable); ``RedisClientError`` when the connection fails or times out (it is then closed).
    @discardableResult
    public func send(_ command: RESPCommand) throws -> RESPValue {
        let reply = try exchange { context in
            try write(command, to: context)
            return try context.readReply()
        }
        if case .error(let error) = reply { throw error }
        return reply
    }

    /// Sends the commands and reads their replies, in order, in one round trip.
    ///
    /// Error replies do not stop the pipeline: they come back as ``RESPValue/error(_:)`` at their
    /// position, so that the caller sees what every other command did.
    ///
    /// A long pipeline is written in chunks of about ``pipelineChunkSize`` bytes as it is encoded
    /// (on this connection's thread), so Redis runs its first commands while the next are encoded.
    /// Replies are read once everything is written.
    /// - Throws: ``RedisClientError`` when the connection fails or times out (it is then closed).
    public func pipeline<Command: RESPCommandEncodable>(_ commands: [Command]) throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        return try exchange { context in
            try withWriter { writer in
                // Read in place: this generic code would copy each command out of the array.
                try commands.withUnsafeBufferPointer { commands in
                    for index in commands.indices {
                        commands[index].write(to: &writer)
                        if writer.bytes.count >= Self.pipelineChunkSize { try write(&writer, to: context) }
                    }
                }
                try write(&writer, to: context)
            }
            var replies: [RESPValue] = []
            replies.reserveCapacity(commands.count)
            for _ in commands { replies.append(try context.readReply()) }
            return replies
        }
    }

    /// The size at which a pipeline being encoded is written to the socket (64 KiB).
    public static let pipelineChunkSize = 1 << 16

    /// Runs the commands atomically inside `MULTI`/`EXEC` (one round trip) and returns the replies of
    /// `EXEC`. Combine with `WATCH` sent before for optimistic locking.
    ///
    /// Runtime errors of single commands (e.g. `WRONGTYPE`) come back as ``RESPValue/error(_:)`` at
    /// their position, as Redis does not roll back.
    /// - Throws: ``RedisServerError`` (code `EXECABORT`) when Redis refused to queue a command, with the
    ///   first refusal in its message; ``RedisClientError`` with code
    ///   ``RedisClientError/Code/transactionAborted`` when a watched key changed; connection errors.
    public func transaction(_ commands: [RESPCommand]) throws -> [RESPValue] {
        let replies = try pipeline([RESPCommand("MULTI")] + commands + [RESPCommand("EXEC")])
        let queued = replies.dropFirst().dropLast()
        if case .error(let error)? = replies.last {
            let firstRefusal = queued.compactMap(\.serverError).first
            throw RedisServerError(message: error.message + (firstRefusal.map { " First error: \($0.message)" } ?? ""))
        }
        if let error = replies.first?.serverError { throw error }
        switch replies.last {
        case .array(let results)?: return results
        case .null?:
            throw RedisClientError(.transactionAborted, "transaction aborted: a watched key was modified")
        default:
            throw RedisClientError(.unexpectedReply, "EXEC returned \(replies.last?.description ?? "nothing")")
        }
    }

    /// Runs a Lua script by its SHA1 (`EVALSHA`), falling back to `EVAL` (which also caches it in the
    /// server) when the server answers `NOSCRIPT`.
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

    /// Sends a blocking command (`BRPOP`, `BLMOVE`, `BZPOPMIN`, ...) whose own timeout is `timeout`.
    ///
    /// The socket waits up to `timeout` plus the configured command timeout. Cancelling the calling
    /// task interrupts the wait at once: the call throws `CancellationError` and the connection is
    /// closed (a reply might still be on its way). Give blocking commands a connection of their own.
    /// - Throws: `CancellationError`, ``RedisServerError``, ``RedisClientError``.
    @discardableResult
    public nonisolated func sendBlocking(_ command: RESPCommand, timeout: Duration) async throws -> RESPValue {
        try await withTaskCancellationHandler {
            try await self.runBlocking(command, timeout: timeout)
        } onCancel: {
            self.interrupt()
        }
    }

    private func runBlocking(_ command: RESPCommand, timeout: Duration) throws -> RESPValue {
        try Task.checkCancellation()
        let reply: RESPValue
        do {
            reply = try exchange { context in
                try context.setTimeout(timeout + configuration.commandTimeout)
                try write(command, to: context)
                let reply = try context.readReply()
                try context.setTimeout(configuration.commandTimeout)
                return reply
            }
        } catch is RedisClientError where socket.withLock({ $0.interrupted }) {
            throw CancellationError()
        }
        if case .error(let error) = reply { throw error }
        return reply
    }

    /// Runs `body` on the connection's own thread, where commands are synchronous calls.
    ///
    /// A sequence of dependent commands (read, decide, write) then costs no thread switch between
    /// them. `body` runs while the connection is held: keep it short and free of other `await`s.
    /// - Throws: whatever `body` throws.
    public func withIsolation<T: Sendable>(_ body: @Sendable (isolated RedisConnection) throws -> T) rethrows -> T {
        try body(self)
    }

    // MARK: State

    /// Whether the connection is open: connected, and no error or ``close()`` has closed it.
    public var isOpen: Bool { context != nil }

    /// A cheap check, callable from any thread, that the connection is open and the server has not
    /// closed its end (an idle connection with readable data has seen EOF or a reset).
    public nonisolated func probablyAlive() -> Bool {
        socket.withLock { state in
            guard let fileDescriptor = state.fileDescriptor, !state.interrupted else { return false }
            var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 0)
            return ready == 0
        }
    }

    /// Closes the connection. Later commands fail with ``RedisClientError/Code/connectionClosed``.
    public func close() {
        socket.withLock { $0.fileDescriptor = nil }
        context = nil
    }

    /// Shuts the socket down from another thread, waking a blocked read.
    private nonisolated func interrupt() {
        socket.withLock { state in
            guard let fileDescriptor = state.fileDescriptor else { return }
            state.interrupted = true
            _ = shutdown(fileDescriptor, Int32(SHUT_RDWR))
        }
    }

    /// Lends the reused command writer to `body` (taken out of the actor's state meanwhile, so that
    /// appending to it never copies).
    private func withWriter<T>(_ body: (inout RESPCommandWriter) throws -> T) rethrows -> T {
        var borrowed = RESPCommandWriter()
        swap(&borrowed, &writer)
        defer {
            borrowed.removeAll()
            swap(&borrowed, &writer)
        }
        return try body(&borrowed)
    }

    /// Encodes one command with the reused writer and writes it to the socket.
    private func write(_ command: RESPCommand, to context: HiredisContext) throws {
        try withWriter { writer in
            writer.write(command)
            try write(&writer, to: context)
        }
    }

    /// Writes the writer's bytes to the socket and empties it.
    private func write(_ writer: inout RESPCommandWriter, to context: HiredisContext) throws {
        guard !writer.bytes.isEmpty else { return }
        precondition(writer.isComplete, "a RESP command was written with arguments missing")
        try context.write(writer.bytes)
        writer.removeAll()
    }

    /// Runs `body` with the open context; closes the connection if it throws a client error.
    private func exchange<T>(_ body: (HiredisContext) throws -> T) throws -> T {
        guard let context, !socket.withLock({ $0.interrupted }) else {
            close()
            throw RedisClientError(
                .connectionClosed, "the connection to Redis at \(configuration.redactedURL) is closed")
        }
        do {
            return try body(context)
        } catch let error as RedisClientError {
            close()
            throw error
        }
    }
}

extension Duration {
    /// The duration in seconds, as Redis' blocking commands take their timeout.
    var secondsValue: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The duration in whole milliseconds for `PX` / `PEXPIRE`: at least 1, at most 10^15 (about
    /// 31,000 years), so that no duration a caller passes can overflow the conversion.
    var expiryMilliseconds: Int {
        Int(min(max(secondsValue * 1000, 1), 1e15).rounded())
    }
}
