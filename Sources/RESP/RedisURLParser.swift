/// Parses Redis connection URLs into ``RedisConfiguration``; every failure names its cause.
enum RedisURLParser {
    static func parse(_ url: String) throws -> RedisConfiguration {
        guard let schemeEnd = url.range(of: "://") else {
            throw invalid("'\(redact(url))' is not a URL: expected redis://host[:port][/db] or unix:///path")
        }
        let scheme = url[url.startIndex..<schemeEnd.lowerBound].lowercased()
        let rest = String(url[schemeEnd.upperBound...])
        switch scheme {
        case "redis": return try parseTCP(rest, original: url)
        case "unix", "redis+unix", "redis+socket": return try parseUnix(rest, original: url)
        case "rediss": throw invalid("'\(redact(url))': TLS (rediss://) is not supported; use redis:// or unix://")
        default:
            throw invalid("'\(redact(url))': unsupported scheme '\(scheme)'; use redis:// or unix://")
        }
    }

    private static func parseTCP(_ rest: String, original: String) throws -> RedisConfiguration {
        var configuration = RedisConfiguration()
        var remainder = Substring(rest)
        let query: [(String, String)]
        (remainder, query) = try splitQuery(remainder, original: original)

        // Authority ends at the first '/', the user info at the last '@' before it.
        let authority: Substring
        let path: Substring
        if let slash = remainder.firstIndex(of: "/") {
            authority = remainder[..<slash]
            path = remainder[remainder.index(after: slash)...]
        } else {
            authority = remainder
            path = ""
        }
        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            try applyUserInfo(authority[..<at], to: &configuration, original: original)
            hostPort = authority[authority.index(after: at)...]
        }

        var host: Substring
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw invalid("'\(redact(original))': IPv6 host is missing its closing ']'")
            }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let afterHost = hostPort[hostPort.index(after: close)...]
            if afterHost.hasPrefix(":") {
                portText = afterHost.dropFirst()
            } else if !afterHost.isEmpty {
                throw invalid("'\(redact(original))': unexpected '\(afterHost)' after the IPv6 host")
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = hostPort
        }
        if host.isEmpty { host = "127.0.0.1" }
        var port = 6379
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw invalid("'\(redact(original))': port '\(portText)' is not a number in 1...65535")
            }
            port = number
        }
        configuration.endpoint = .tcp(host: String(host), port: port)

        let databaseText = path.hasSuffix("/") ? path.dropLast() : path
        if !databaseText.isEmpty {
            configuration.database = try parseDatabase(databaseText, original: original)
        }
        try apply(query, to: &configuration, original: original)
        return configuration
    }

    private static func parseUnix(_ rest: String, original: String) throws -> RedisConfiguration {
        var configuration = RedisConfiguration()
        let (pathPart, query) = try splitQuery(Substring(rest), original: original)
        var path = pathPart
        // unix://user:password@/path is accepted as well as ?password=
        if let at = path.firstIndex(of: "@"), !path.hasPrefix("/") {
            try applyUserInfo(path[..<at], to: &configuration, original: original)
            path = path[path.index(after: at)...]
        }
        guard path.hasPrefix("/"), path.count > 1 else {
            throw invalid("'\(redact(original))': a unix socket URL needs an absolute path, e.g. unix:///run/redis.sock")
        }
        configuration.endpoint = .unixSocket(path: try percentDecode(path, part: "socket path", original: original))
        try apply(query, to: &configuration, original: original)
        return configuration
    }

    /// `user:password`, `:password`, or a lone `password` (as redis-py reads `redis://secret@host`).
    private static func applyUserInfo(
        _ userInfo: Substring, to configuration: inout RedisConfiguration, original: String
    ) throws {
        guard !userInfo.isEmpty else { return }
        guard let colon = userInfo.firstIndex(of: ":") else {
            configuration.password = try percentDecode(userInfo, part: "password", original: original)
            return
        }
        let user = try percentDecode(userInfo[..<colon], part: "user name", original: original)
        configuration.username = user.isEmpty ? nil : user
        configuration.password = try percentDecode(
            userInfo[userInfo.index(after: colon)...], part: "password", original: original)
    }

    private static func splitQuery(
        _ text: Substring, original: String
    ) throws -> (Substring, [(String, String)]) {
        guard let questionMark = text.firstIndex(of: "?") else { return (text, []) }
        var pairs: [(String, String)] = []
        for item in text[text.index(after: questionMark)...].split(separator: "&") {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let value = parts.count > 1 ? try percentDecode(parts[1], part: "'\(name)' value", original: original) : ""
            pairs.append((name, value))
        }
        return (text[..<questionMark], pairs)
    }

    private static func apply(
        _ query: [(String, String)], to configuration: inout RedisConfiguration, original: String
    ) throws {
        for (name, value) in query {
            switch name {
            case "db", "database":
                configuration.database = try parseDatabase(Substring(value), original: original)
            case "password":
                configuration.password = value
            case "username", "user":
                configuration.username = value.isEmpty ? nil : value
            case "client_name", "name":
                configuration.clientName = value
            case "timeout", "socket_timeout":
                configuration.commandTimeout = try parseSeconds(value, name: name, original: original)
            case "connect_timeout", "socket_connect_timeout":
                configuration.connectTimeout = try parseSeconds(value, name: name, original: original)
            default:
                throw invalid("'\(redact(original))': unknown query parameter '\(name)'")
            }
        }
    }

    private static func parseDatabase(_ text: Substring, original: String) throws -> Int {
        guard let number = Int(text), number >= 0 else {
            throw invalid("'\(redact(original))': database '\(text)' is not a non-negative integer")
        }
        return number
    }

    private static func parseSeconds(_ text: String, name: String, original: String) throws -> Duration {
        // At most 10^9 s (31 years): a timeout from a URL must convert to milliseconds safely.
        guard let seconds = Double(text), seconds > 0, seconds <= 1e9 else {
            throw invalid("'\(redact(original))': \(name) '\(text)' is not a positive number of seconds (at most 1e9)")
        }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    static func percentDecode(_ text: Substring, part: String, original: String) throws -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw invalid("'\(redact(original))': the \(part) has a malformed %-escape")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters (ASCII letters, digits, `-._~`).
    static func percentEncode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The URL with any password (user info after ':' or a `password=` query value) replaced by `***`.
    static func redact(_ url: String) -> String {
        var result = url
        if let schemeEnd = result.range(of: "://") {
            let afterScheme = result[schemeEnd.upperBound...]
            // The last '@' anywhere: a password with an unescaped '/', '?' or '@' (a URL that
            // does not parse) must not show either. Over-redacting a query holding '@' is safe.
            if let at = afterScheme.lastIndex(of: "@") {
                let userInfo = afterScheme[..<at]
                let redactedUserInfo: String
                if let colon = userInfo.firstIndex(of: ":") {
                    redactedUserInfo = userInfo[..<colon] + ":***"
                } else {
                    redactedUserInfo = "***"
                }
                result.replaceSubrange(afterScheme.startIndex..<at, with: redactedUserInfo)
            }
        }
        var searchStart = result.startIndex
        while let range = result.range(of: "password=", range: searchStart..<result.endIndex) {
            let valueEnd = result[range.upperBound...].firstIndex(of: "&") ?? result.endIndex
            result.replaceSubrange(range.upperBound..<valueEnd, with: "***")
            searchStart = result.index(range.upperBound, offsetBy: 3)
        }
        return result
    }

    private static func invalid(_ message: String) -> RedisClientError {
        RedisClientError(.invalidConfiguration, "invalid Redis URL " + message)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
