extension RedisCommandSender {
    /// `INFO [section]` parsed into `field: value` pairs (section headers and blank lines skipped).
    /// - Throws: connection errors.
    public func info(_ section: String? = nil) async throws -> [String: String] {
        let command = section.map { RESPCommand("INFO", $0) } ?? RESPCommand("INFO")
        let text: String = try await send(command).decode()
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }

    /// The server's version from `INFO server`, e.g. `7.0.15`.
    /// - Throws: connection errors.
    public func serverVersion() async throws -> String {
        try await info("server")["redis_version"] ?? "unknown"
    }
}
