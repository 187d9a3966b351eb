import Synchronization

/// A bounded pool of ``RedisConnection``s shared by concurrent callers.
///
/// - At most ``Configuration-swift.struct/maximumConnections`` connections exist; callers beyond
///   that wait (up to ``Configuration-swift.struct/acquireTimeout``) for one to be returned.
/// - Connections are made on demand. A connection that failed, or whose server closed it while it
///   sat idle, is discarded instead of being handed out again.
/// - While Redis is unreachable, connection attempts are spaced by a capped, jittered exponential
///   ``ReconnectBackoff`` shared by all callers; a caller keeps trying until its acquire timeout and
///   then throws the last connection error. Once Redis is back, the next attempt succeeds.
///
/// Commands that fail on a connection are not retried on another (they may have run): the caller
/// gets the typed error and decides.
public final class RedisConnectionPool: RedisCommandSender {
    /// Pool settings.
    public struct Configuration: Sendable {
        /// The most connections open at once.
        public var maximumConnections: Int
        /// How long a caller may wait for a connection: for a free one, or for Redis to be reachable.
        public var acquireTimeout: Duration
        /// Spacing of connection attempts while they fail.
        public var backoff: ReconnectBackoff

        /// Creates pool settings.
        public init(
            maximumConnections: Int = 8, acquireTimeout: Duration = .seconds(5), backoff: ReconnectBackoff = .standard
        ) {
            self.maximumConnections = max(1, maximumConnections)
            self.acquireTimeout = acquireTimeout
            self.backoff = backoff
        }
    }

    /// How to reach Redis.
    public let redis: RedisConfiguration
    /// The pool's settings.
    public let configuration: Configuration
    /// The thread the pool's connections run on, when they share one.
    public let executor: DedicatedThreadExecutor?

    private let state: Mutex<State>

    private struct State {
        var idle: [RedisConnection] = []
        /// Connections handed out, idle, or being created.
        var count = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Grant, any Error>)] = []
        var nextWaiterID: UInt64 = 0
        var consecutiveFailures = 0
        var nextAttempt: ContinuousClock.Instant?
        var lastError: (any Error)?
        var isClosed = false
    }

    /// What a waiting caller is given: a connection, or the right to create one.
    private enum Grant {
        case connection(RedisConnection)
        case slot
    }

    /// Creates a pool. No connection is made until the first command.
    /// - Parameter executor: the thread every connection of the pool runs on; by default each
    ///   connection makes its own. A loop running on `executor` (see ``DedicatedThreadExecutor``)
    ///   then awaits the pool's commands without switching threads, one command at a time.
    public init(
        _ redis: RedisConfiguration, configuration: Configuration = Configuration(),
        connectionsOn executor: DedicatedThreadExecutor? = nil
    ) {
        self.redis = redis
        self.configuration = configuration
        self.executor = executor
        self.state = Mutex(State())
    }

    /// Creates a pool for the Redis server at `url`; see ``RedisConfiguration/init(url:)``.
    /// - Throws: ``RedisClientError`` with code `invalidConfiguration` for a malformed URL.
    public convenience init(url: String, configuration: Configuration = Configuration()) throws {
        self.init(try RedisConfiguration(url: url), configuration: configuration)
    }

    // MARK: Using connections

    /// Lends a connection to `body` and takes it back afterwards (discarding it if it broke).
    /// - Throws: ``RedisClientError`` when no connection could be had within the acquire timeout
    ///   (`poolExhausted`, or the last connection error while Redis is unreachable), `closed` after
    ///   ``close()``; and whatever `body` throws.
    public func withConnection<T: Sendable>(
        _ body: (RedisConnection) async throws -> T
    ) async throws -> T {
        let connection = try await acquire()
        do {
            let result = try await body(connection)
            release(connection)
            return result
        } catch {
            release(connection)
            throw error
        }
    }

    /// Sends one command on a pooled connection.
    /// - Throws: ``RedisServerError`` for an error reply; ``RedisClientError`` for connection failures.
    @discardableResult
    public func send(_ command: RESPCommand) async throws -> RESPValue {
        try await withConnection { try await $0.send(command) }
    }

    /// Sends the commands in one round trip on one pooled connection (see
    /// ``RedisConnection/pipeline(_:)``: a long pipeline is written as it is encoded).
    /// - Throws: ``RedisClientError`` for connection failures.
    public func pipeline<Command: RESPCommandEncodable>(_ commands: [Command]) async throws -> [RESPValue] {
        try await withConnection { try await $0.pipeline(commands) }
    }

    /// Runs the commands in `MULTI`/`EXEC` on one pooled connection.
    /// - Throws: as ``RedisConnection/transaction(_:)``.
    public func transaction(_ commands: [RESPCommand]) async throws -> [RESPValue] {
        try await withConnection { try await $0.transaction(commands) }
    }

    /// Runs a Lua script by SHA1 with `EVAL` fallback on one pooled connection.
    /// - Throws: as ``RedisConnection/evalScript(_:keys:arguments:)``.
    @discardableResult
    public func evalScript(
        _ script: RedisScript, keys: [any RESPArgument] = [], arguments: [any RESPArgument] = []
    ) async throws -> RESPValue {
        // Existentials are not Sendable; the command is built here and only it crosses over.
        let bySHA = script.command(keys: keys, arguments: arguments, bySHA: true)
        let byText = script.command(keys: keys, arguments: arguments, bySHA: false)
        return try await withConnection { connection in
            do {
                return try await connection.send(bySHA)
            } catch let error as RedisServerError where error.code == "NOSCRIPT" {
                return try await connection.send(byText)
            }
        }
    }

    /// Closes idle connections and refuses new work; connections in use are closed when returned.
    /// Waiting callers get ``RedisClientError/Code/closed``.
    public func close() async {
        let (idle, waiters) = state.withLock { state in
            state.isClosed = true
            defer {
                state.idle = []
                state.waiters = []
            }
            return (state.idle, state.waiters)
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: RedisClientError(.closed, "the Redis connection pool was closed"))
        }
        for connection in idle { await connection.close() }
    }

    /// The number of connections currently open or being opened.
    public var connectionCount: Int { state.withLock { $0.count } }

    // MARK: Acquire and release

    private func acquire() async throws -> RedisConnection {
        let deadline = ContinuousClock.now + configuration.acquireTimeout
        while true {
            enum Step {
                case use(RedisConnection)
                case create
                case wait
            }
            let step: Step = try state.withLock { state in
                if state.isClosed { throw RedisClientError(.closed, "the Redis connection pool was closed") }
                while let connection = state.idle.popLast() {
                    if connection.probablyAlive() { return .use(connection) }
                    state.count -= 1
                }
                if state.count < configuration.maximumConnections {
                    state.count += 1
                    return .create
                }
                return .wait
            }
            switch step {
            case .use(let connection):
                return connection
            case .create:
                return try await createConnection(deadline: deadline)
            case .wait:
                switch try await waitForGrant(deadline: deadline) {
                case .connection(let connection):
                    if connection.probablyAlive() { return connection }
                    state.withLock { $0.count -= 1 }
                case .slot:
                    return try await createConnection(deadline: deadline)
                }
            }
        }
    }

    /// Creates a connection in a slot already counted, retrying with backoff until `deadline`.
    private func createConnection(deadline: ContinuousClock.Instant) async throws -> RedisConnection {
        while true {
            let nextAttempt = state.withLock { $0.nextAttempt }
            if let nextAttempt, nextAttempt > .now {
                if nextAttempt > deadline {
                    giveUpSlot()
                    throw state.withLock { $0.lastError }
                        ?? RedisClientError(
                            .connectionFailed, "Redis at \(redis.redactedURL) is unreachable")
                }
                do {
                    try await Task.sleep(until: nextAttempt, clock: .continuous)
                } catch {
                    giveUpSlot()
                    throw error
                }
            }
            do {
                let connection = try await RedisConnection.connect(redis, on: executor)
                state.withLock { state in
                    state.consecutiveFailures = 0
                    state.nextAttempt = nil
                    state.lastError = nil
                }
                return connection
            } catch let error as RedisClientError where error.isConnectionError {
                let retryAt: ContinuousClock.Instant = state.withLock { state in
                    state.consecutiveFailures += 1
                    state.lastError = error
                    let retryAt = ContinuousClock.now + configuration.backoff.delay(afterFailures: state.consecutiveFailures)
                    state.nextAttempt = retryAt
                    return retryAt
                }
                if retryAt > deadline || Task.isCancelled {
                    giveUpSlot()
                    throw error
                }
            } catch {
                giveUpSlot()
                throw error
            }
        }
    }

    private func waitForGrant(deadline: ContinuousClock.Instant) async throws -> Grant {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        // Captures self strongly: the timer is always cancelled below, so it cannot outlive the wait.
        let timer = Task {
            try await Task.sleep(until: deadline, clock: .continuous)
            self.failWaiter(
                id,
                with: RedisClientError(
                    .poolExhausted,
                    "no Redis connection became free within \(self.configuration.acquireTimeout) "
                        + "(pool of \(self.configuration.maximumConnections))"))
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let closed = state.withLock { state in
                    if state.isClosed { return true }
                    state.waiters.append((id, continuation))
                    return false
                }
                if closed {
                    continuation.resume(throwing: RedisClientError(.closed, "the Redis connection pool was closed"))
                }
            }
        } onCancel: {
            failWaiter(id, with: CancellationError())
        }
    }

    private func failWaiter(_ id: UInt64, with error: any Error) {
        let continuation = state.withLock { state -> CheckedContinuation<Grant, any Error>? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index).continuation
        }
        continuation?.resume(throwing: error)
    }

    /// Returns a connection: to a waiter, to the idle list, or (if broken) frees its slot.
    private func release(_ connection: RedisConnection) {
        let healthy = connection.probablyAlive()
        let handOff = state.withLock { state -> (CheckedContinuation<Grant, any Error>, Grant)? in
            if state.isClosed || !healthy {
                state.count -= 1
                if !state.isClosed, !state.waiters.isEmpty {
                    state.count += 1
                    return (state.waiters.removeFirst().continuation, .slot)
                }
                return nil
            }
            if !state.waiters.isEmpty {
                return (state.waiters.removeFirst().continuation, .connection(connection))
            }
            state.idle.append(connection)
            return nil
        }
        if let (continuation, grant) = handOff {
            continuation.resume(returning: grant)
        }
    }

    /// Frees a slot taken for a connection that could not be created, passing it to a waiter.
    private func giveUpSlot() {
        let waiter = state.withLock { state -> CheckedContinuation<Grant, any Error>? in
            state.count -= 1
            guard !state.waiters.isEmpty else { return nil }
            state.count += 1
            return state.waiters.removeFirst().continuation
        }
        waiter?.resume(returning: .slot)
    }
}
