import RESP

extension Error {
    /// Whether this error means Redis cannot serve for now but may soon, so that retrying the
    /// same write later is right: the connection failed or closed (Redis restarting, the
    /// network), no pooled connection came in time, or the server said it is not ready
    /// (``RedisServerError/isTransient``, e.g. `LOADING` right after a restart). Anything else
    /// would fail the same way again.
    var isTemporaryRedisFailure: Bool {
        switch self {
        case let error as RedisClientError: error.isConnectionError || error.code == .poolExhausted
        case let error as RedisServerError: error.isTransient
        default: false
        }
    }
}
