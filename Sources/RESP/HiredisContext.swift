import CHiredis
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Owns one hiredis `redisContext` in blocking mode. Every raw hiredis call of the client goes
/// through this type; no pointer leaves it.
///
/// Not thread-safe: one thread uses it at a time (a ``RedisConnection``'s own thread, or a
/// ``RedisSubscriber``'s). After any I/O error hiredis marks the context unusable; so does this type
/// (``isBroken``), and its owner replaces it.
final class HiredisContext {
    private let context: UnsafeMutablePointer<redisContext>
    /// The redacted URL of the server, for error messages.
    let serverDescription: String
    /// Set once an I/O, protocol or timeout error has made the context unusable.
    private(set) var isBroken = false
    /// How long one whole reply may take to arrive; `nil` waits for ever.
    private var replyTimeout: Duration?
    /// Checks the bytes read against the reply limits before hiredis parses them.
    private var replyGuard: RESPReplyGuard
    /// Where each `read(2)` puts its bytes (at most 64 KiB), reused.
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)

    private init(context: UnsafeMutablePointer<redisContext>, serverDescription: String, limits: RESPReplyLimits) {
        self.context = context
        self.serverDescription = serverDescription
        self.replyGuard = RESPReplyGuard(limits: limits)
    }

    deinit {
        redisFree(context)
    }

    /// The socket's file descriptor (valid until the context is freed).
    var fileDescriptor: Int32 { context.pointee.fd }

    /// Connects, then sends AUTH, SELECT and CLIENT SETNAME as configured, in one round trip.
    /// - Throws: ``RedisClientError`` (`connectionFailed`, `timeout`, `authenticationFailed`,
    ///   `invalidConfiguration`).
    static func connect(_ configuration: RedisConfiguration) throws -> HiredisContext {
        ignoreSIGPIPE
        let server = configuration.redactedURL
        let connectTimeout = timeval(configuration.connectTimeout)
        let rawContext: UnsafeMutablePointer<redisContext>?
        switch configuration.endpoint {
        case .tcp(let host, let port):
            rawContext = redisConnectWithTimeout(host, Int32(port), connectTimeout)
        case .unixSocket(let path):
            rawContext = redisConnectUnixWithTimeout(path, connectTimeout)
        }
        guard let rawContext else {
            throw RedisClientError(.connectionFailed, "cannot connect to Redis at \(server): out of memory")
        }
        let savedErrno = errno
        let context = HiredisContext(context: rawContext, serverDescription: server, limits: configuration.replyLimits)
        if rawContext.pointee.err != 0 {
            let reason = String(cString: chiredis_context_errstr(rawContext))
            if isTimeout(errno: savedErrno) {
                throw RedisClientError(
                    .timeout, "connecting to Redis at \(server) timed out after \(configuration.connectTimeout)")
            }
            throw RedisClientError(.connectionFailed, "cannot connect to Redis at \(server): \(reason)")
        }
        // A process spawned by the application must not inherit this socket: it would keep the
        // connection open after we close it.
        _ = chiredis_set_cloexec(rawContext.pointee.fd)
        if case .tcp = configuration.endpoint {
            _ = redisEnableKeepAlive(rawContext)
        }
        try context.handshake(configuration)
        try context.setTimeout(configuration.commandTimeout)
        return context
    }

    private func handshake(_ configuration: RedisConfiguration) throws {
        var commands: [RESPCommand] = []
        if let password = configuration.password {
            commands.append(
                configuration.username.map { RESPCommand("AUTH", $0, password) } ?? RESPCommand("AUTH", password))
        }
        if configuration.database != 0 {
            commands.append(RESPCommand("SELECT", configuration.database))
        }
        if let name = configuration.clientName {
            commands.append(RESPCommand("CLIENT", "SETNAME", name))
        }
        guard !commands.isEmpty else { return }
        try setTimeout(configuration.connectTimeout)
        for command in commands { try append(command) }
        var replies: [RESPValue] = []
        for _ in commands { replies.append(try readReply()) }
        for (command, reply) in zip(commands, replies) {
            guard case .error(let error) = reply else { continue }
            switch command.name {
            case "AUTH":
                let who = configuration.username.map { "user '\($0)'" } ?? "the default user"
                throw RedisClientError(
                    .authenticationFailed,
                    "Redis at \(serverDescription) rejected the credentials of \(who): \(error.message)",
                    serverError: error)
            case _ where error.code == "NOAUTH":
                throw RedisClientError(
                    .authenticationFailed,
                    "Redis at \(serverDescription) requires a password: give it in the URL "
                        + "(redis://[user]:password@host:port/db)",
                    serverError: error)
            case "SELECT":
                throw RedisClientError(
                    .invalidConfiguration,
                    "Redis at \(serverDescription) refused database \(configuration.database): \(error.message)",
                    serverError: error)
            default:
                throw RedisClientError(
                    .invalidConfiguration,
                    "Redis at \(serverDescription) refused client name '\(configuration.clientName ?? "")': "
                        + error.message,
                    serverError: error)
            }
        }
    }

    /// Sets the time one whole reply may take (a deadline from when it is awaited, however the
    /// server trickles its bytes), and the socket's send timeout; `nil` waits forever.
    func setTimeout(_ timeout: Duration?) throws {
        replyTimeout = timeout
        let value = timeout.map(timeval.init) ?? timeval(tv_sec: 0, tv_usec: 0)
        if redisSetTimeout(context, value) != REDIS_OK {
            throw failure(while: "setting the socket timeout")
        }
    }

    /// Appends a command to the output buffer (nothing is sent yet).
    func append(_ command: RESPCommand) throws {
        var encoded: [UInt8] = []
        command.encode(into: &encoded)
        try append(encoded: encoded)
    }

    /// Appends already RESP-encoded commands to the output buffer (nothing is sent yet).
    func append(encoded: [UInt8]) throws {
        try checkUsable()
        let status = encoded.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                redisAppendFormattedCommand(context, chars.baseAddress, chars.count)
            }
        }
        if status != REDIS_OK {
            throw failure(while: "buffering commands")
        }
    }

    /// Sends what is buffered, then blocks until one whole reply has arrived. The timeout (see
    /// ``setTimeout(_:)``) is a deadline for the whole reply: a server trickling a byte at a time
    /// cannot stretch it. The first `read` waits with the socket's receive timeout as set (one
    /// system call, the common case); each later one with the time left.
    /// - Throws: ``RedisClientError`` (`timeout`, `connectionClosed`, `protocolError`, also for a
    ///   reply past the ``RESPReplyLimits``); the context is then broken.
    func readReply() throws -> RESPValue {
        if let reply = try bufferedReply() { return reply }
        try flush()
        let deadline = replyTimeout.map { ContinuousClock.now + $0 }
        var shortened = false
        defer { if shortened, !isBroken { _ = redisSetTimeout(context, replyTimeout.map(timeval.init) ?? timeval()) } }
        while true {
            guard try readAvailable() else { throw timedOut() }
            if let reply = try bufferedReply() { return reply }
            if let deadline {
                let left = deadline - ContinuousClock.now
                guard left > .milliseconds(1) else { throw timedOut() }
                if redisSetTimeout(context, timeval(left)) != REDIS_OK { throw failure(while: "setting the socket timeout") }
                shortened = true
            }
        }
    }

    private func timedOut() -> RedisClientError {
        isBroken = true
        return RedisClientError(
            .timeout,
            "Redis at \(serverDescription) did not send a whole reply within \(replyTimeout ?? .zero); connection closed")
    }

    /// Writes RESP-encoded commands to the socket now, blocking until all are written.
    ///
    /// The bytes go straight from `bytes` to the socket (hiredis' own output buffer would copy
    /// them once more); when hiredis still holds output, they are queued behind it instead.
    func write(_ bytes: [UInt8]) throws {
        try checkUsable()
        if chiredis_pending_output(context) > 0 {
            try append(encoded: bytes)
            try flush()
            return
        }
        let savedErrno = writeFully(context.pointee.fd, bytes)
        guard savedErrno != 0 else { return }
        isBroken = true
        if HiredisContext.isTimeout(errno: savedErrno) {
            throw RedisClientError(
                .timeout, "Redis at \(serverDescription) did not take the commands in time; connection closed")
        }
        throw RedisClientError(
            .connectionClosed,
            "connection to Redis at \(serverDescription) lost while sending commands: \(String(cString: strerror(savedErrno)))")
    }

    /// Writes the output buffer to the socket until it is empty (blocking).
    func flush() throws {
        try checkUsable()
        var done: Int32 = 0
        while done == 0 {
            if redisBufferWrite(context, &done) != REDIS_OK {
                throw failure(while: "sending commands")
            }
        }
    }

    /// Reads what the socket has (one `read`, waiting at most the socket's receive timeout) and
    /// hands it to hiredis' reader, after checking it against the reply limits. Returns `false`
    /// when the wait ended with nothing read.
    /// - Throws: ``RedisClientError`` (`connectionClosed` at EOF, `protocolError` past a limit).
    @discardableResult
    func readAvailable() throws -> Bool {
        try checkUsable()
        var count = 0
        let descriptor = context.pointee.fd
        repeat {
            count = readBuffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        } while count < 0 && errno == EINTR
        if count < 0 && HiredisContext.isTimeout(errno: errno) { return false }
        guard count > 0 else {
            isBroken = true
            let reason = count == 0 ? "the server closed the connection" : String(cString: strerror(errno))
            throw RedisClientError(.connectionClosed, "connection to Redis at \(serverDescription) lost while reading: \(reason)")
        }
        do {
            try readBuffer.withUnsafeBytes { try replyGuard.scan(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        } catch {
            isBroken = true
            throw RedisClientError(.protocolError, "Redis at \(serverDescription) sent a reply past a limit: \(error); connection closed")
        }
        let reader = context.pointee.reader
        let status = readBuffer.withUnsafeBytes { bytes in
            bytes.withMemoryRebound(to: CChar.self) { redisReaderFeed(reader, $0.baseAddress, count) }
        }
        if status != REDIS_OK { throw failure(while: "reading") }
        return true
    }

    /// The next complete reply already read from the socket, without blocking.
    func bufferedReply() throws -> RESPValue? {
        try checkUsable()
        var reply: UnsafeMutableRawPointer?
        if redisGetReplyFromReader(context, &reply) != REDIS_OK {
            throw failure(while: "parsing a reply")
        }
        guard let reply else { return nil }
        defer { freeReplyObject(reply) }
        return HiredisContext.value(of: reply.assumingMemoryBound(to: redisReply.self))
    }

    private func checkUsable() throws {
        if isBroken {
            throw RedisClientError(.connectionClosed, "the connection to Redis at \(serverDescription) is closed")
        }
    }

    /// Builds the error for a failed hiredis call and marks the context unusable.
    private func failure(while activity: String) -> RedisClientError {
        let savedErrno = errno
        isBroken = true
        let code = context.pointee.err
        let reason = String(cString: chiredis_context_errstr(context))
        switch code {
        case REDIS_ERR_IO where HiredisContext.isTimeout(errno: savedErrno):
            return RedisClientError(
                .timeout, "Redis at \(serverDescription) did not answer in time (\(activity)); connection closed")
        case REDIS_ERR_EOF, REDIS_ERR_IO:
            return RedisClientError(
                .connectionClosed, "connection to Redis at \(serverDescription) lost while \(activity): \(reason)")
        case REDIS_ERR_PROTOCOL:
            return RedisClientError(
                .protocolError, "Redis at \(serverDescription) sent invalid RESP while \(activity): \(reason)")
        default:
            return RedisClientError(
                .connectionClosed, "connection to Redis at \(serverDescription) failed while \(activity): \(reason)")
        }
    }

    private static func isTimeout(errno value: Int32) -> Bool {
        value == EAGAIN || value == EWOULDBLOCK || value == ETIMEDOUT || value == EINPROGRESS
    }

    /// Copies a hiredis reply tree into an owned ``RESPValue``.
    static func value(of reply: UnsafePointer<redisReply>) -> RESPValue {
        let node = reply.pointee
        switch node.type {
        case REDIS_REPLY_STRING:
            guard let text = node.str, node.len > 0 else { return .bulkString([]) }
            return .bulkString(Array(UnsafeRawBufferPointer(start: text, count: node.len)))
        case REDIS_REPLY_STATUS:
            return .simpleString(string(node))
        case REDIS_REPLY_ERROR:
            return .error(RedisServerError(message: string(node)))
        case REDIS_REPLY_INTEGER:
            return .integer(Int(node.integer))
        case REDIS_REPLY_ARRAY:
            guard let elements = node.element else { return .array([]) }
            return .array(
                (0..<node.elements).map { index in
                    elements[index].map { value(of: $0) } ?? .null
                })
        default:
            return .null
        }
    }

    private static func string(_ node: redisReply) -> String {
        guard let text = node.str, node.len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: node.len), as: UTF8.self)
    }
}

/// Writing to a socket whose peer has gone raises SIGPIPE, which kills the process by default;
/// hiredis 0.14 uses plain `write`, so the signal is ignored process-wide (as most servers do) and the
/// write fails with EPIPE instead, which becomes a ``RedisClientError``.
private let ignoreSIGPIPE: Void = {
    _ = signal(SIGPIPE, SIG_IGN)
}()

/// `write(2)` (named apart from ``HiredisContext/write(_:)``, which would shadow it).
private func systemWrite(_ fileDescriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fileDescriptor, bytes, count)
}

extension timeval {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: Int(max(0, seconds)), tv_usec: Int(max(0, attoseconds) / 1_000_000_000_000))
    }
}

/// Writes all of `bytes` to a blocking socket, retrying interrupted and partial writes. Returns 0,
/// or the `errno` of the write that failed (`EPIPE` for one that took nothing).
func writeFully(_ descriptor: Int32, _ bytes: [UInt8]) -> Int32 {
    var written = 0
    while written < bytes.count {
        let result = bytes.withUnsafeBytes { buffer in
            buffer.baseAddress.map { systemWrite(descriptor, $0 + written, buffer.count - written) } ?? 0
        }
        if result > 0 {
            written += result
            continue
        }
        let savedErrno = result == 0 ? EPIPE : errno  // (a socket takes at least a byte or fails)
        if savedErrno != EINTR { return savedErrno }
    }
    return 0
}
