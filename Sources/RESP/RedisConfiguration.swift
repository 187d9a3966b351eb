/// Where and how to connect to Redis: endpoint, database, credentials, name and timeouts.
///
/// Usually made from a URL:
/// - `redis://[[user]:password@]host[:port][/db]` (port 6379 and db 0 by default; IPv6 hosts in
///   brackets; user and password percent-encoded)
/// - `unix:///path/to/redis.sock[?db=N&password=...]`
public struct RedisConfiguration: Sendable, Hashable {
    /// The server's address.
    public enum Endpoint: Sendable, Hashable {
        /// A TCP host name or IP address and port.
        case tcp(host: String, port: Int)
        /// The path of a unix domain socket.
        case unixSocket(path: String)
    }

    /// The server's address.
    public var endpoint: Endpoint
    /// The logical database selected with `SELECT` after connecting.
    public var database: Int
    /// The ACL user name for `AUTH user password`; `nil` authenticates as the default user.
    public var username: String?
    /// The password for `AUTH`; `nil` sends no `AUTH`.
    public var password: String?
    /// The name set with `CLIENT SETNAME`, shown by `CLIENT LIST`; `nil` sets none.
    public var clientName: String?
    /// How long connecting (TCP/unix connect plus the AUTH/SELECT handshake) may take.
    public var connectTimeout: Duration
    /// How long a reply to a non-blocking command may take. Blocking commands add their own timeout.
    public var commandTimeout: Duration
    /// Bounds on one reply (bulk length, element count, nesting, line length).
    public var replyLimits: RESPReplyLimits = .standard

    /// Creates a configuration from parts.
    public init(
        endpoint: Endpoint = .tcp(host: "127.0.0.1", port: 6379),
        database: Int = 0,
        username: String? = nil,
        password: String? = nil,
        clientName: String? = nil,
        connectTimeout: Duration = .seconds(5),
        commandTimeout: Duration = .seconds(5)
    ) {
        self.endpoint = endpoint
        self.database = database
        self.username = username
        self.password = password
        self.clientName = clientName
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
    }

    /// Parses a `redis://` or `unix://` URL.
    /// - Throws: ``RedisClientError`` with code ``RedisClientError/Code/invalidConfiguration`` and a
    ///   message naming what is wrong (scheme, host, port, database, escape). The message never
    ///   contains the password.
    public init(url: String) throws {
        self = try RedisURLParser.parse(url)
    }

    /// `url` with `password` added (percent-encoded): for a password read from a file or a secret
    /// store rather than typed into a URL, which `ps` and shell histories would show. A user name
    /// goes before an empty password, `redis://user:@host` (a lone `redis://word@host` is a
    /// password, as redis-py reads it).
    /// - Throws: ``RedisClientError`` `invalidConfiguration` when `url` is malformed or already
    ///   holds a password (say which one to use); the message never contains either password.
    public static func url(_ url: String, addingPassword password: String) throws -> String {
        let configuration = try RedisConfiguration(url: url)
        guard configuration.password?.isEmpty ?? true else {
            throw RedisClientError(
                .invalidConfiguration,
                "'\(configuration.redactedURL)' holds a password already; give it in the URL or in the file, not both")
        }
        let encoded = RedisURLParser.percentEncode(password)
        let result: String
        switch configuration.endpoint {
        case .tcp:
            guard let schemeEnd = url.range(of: "://") else { return url }  // parsed above: it has one
            let rest = url[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            let withPassword: String
            if let at = authority.lastIndex(of: "@") {
                // `user:` or `:` (a user info without a colon is a password, refused above).
                let user = authority[..<at].prefix(while: { $0 != ":" })
                withPassword = user + ":" + encoded + authority[at...]
            } else {
                withPassword = ":" + encoded + "@" + authority
            }
            result = url[..<schemeEnd.upperBound] + withPassword + rest[authorityEnd...]
        case .unixSocket:
            result = url + (url.contains("?") ? "&" : "?") + "password=" + encoded
        }
        guard (try? RedisConfiguration(url: result))?.password == password else {
            throw RedisClientError(.invalidConfiguration, "cannot add a password to '\(configuration.redactedURL)'")
        }
        return result
    }

    /// The URL of this configuration with the password replaced by `***`, safe to print or log.
    public var redactedURL: String {
        var userInfo = ""
        if username != nil || password != nil {
            userInfo = (username.map(RedisURLParser.percentEncode) ?? "") + (password != nil ? ":***" : "") + "@"
        }
        switch endpoint {
        case .tcp(let host, let port):
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "redis://\(userInfo)\(shownHost):\(port)/\(database)"
        case .unixSocket(let path):
            var query = database != 0 ? ["db=\(database)"] : []
            if password != nil { query.append("password=***") }
            return "unix://\(path)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        }
    }
}

extension RedisConfiguration: CustomStringConvertible {
    /// The redacted URL.
    public var description: String { redactedURL }
}
