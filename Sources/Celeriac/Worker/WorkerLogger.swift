import Foundation

/// How much a worker logs.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case debug, info, warning, error

    /// Reads `debug`, `info`, `warning` (or `warn`), `error`, in any case.
    public init?(name: String) {
        switch name.lowercased() {
        case "debug": self = .debug
        case "info": self = .info
        case "warning", "warn": self = .warning
        case "error", "critical": self = .error
        default: return nil
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    var label: String {
        switch self {
        case .debug: return "DEBUG"
        case .info: return "INFO"
        case .warning: return "WARNING"
        case .error: return "ERROR"
        }
    }
}

/// Structured log lines, one event per line in logfmt:
/// `2026-11-23T10:00:00.123Z INFO task.succeeded id=… name=celeriac.examples.add runtime=0.0004s`.
public struct WorkerLogger: Sendable {
    /// The lowest level written.
    public var level: LogLevel
    private let sink: @Sendable (String) -> Void

    /// A logger writing lines at `level` and above to `sink` (standard error by default).
    public init(level: LogLevel = .info, sink: @escaping @Sendable (String) -> Void = WorkerLogger.standardError) {
        self.level = level
        self.sink = sink
    }

    /// Writes a line to standard error.
    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Whether lines at `level` are written (to skip building fields that would be dropped).
    public func isEnabled(_ level: LogLevel) -> Bool { level >= self.level }

    /// Logs `event` with `fields` at `level`.
    public func log(_ level: LogLevel, _ event: String, _ fields: LogFields = [:]) {
        guard level >= self.level else { return }
        var line = CeleryTimestamp.format(Date()) + " " + level.label + " " + event
        for (key, value) in fields.pairs {
            line += " " + key + "=" + Self.quoted(value)
        }
        sink(line)
    }

    /// Logs `event` at debug level.
    public func debug(_ event: String, _ fields: LogFields = [:]) { log(.debug, event, fields) }
    /// Logs `event` at info level.
    public func info(_ event: String, _ fields: LogFields = [:]) { log(.info, event, fields) }
    /// Logs `event` at warning level.
    public func warning(_ event: String, _ fields: LogFields = [:]) { log(.warning, event, fields) }
    /// Logs `event` at error level.
    public func error(_ event: String, _ fields: LogFields = [:]) { log(.error, event, fields) }

    /// logfmt quoting: bare when the value has no space, quote, `=` or control character.
    static func quoted(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.value < 0x20 }
        guard needsQuotes else { return value }
        var quoted = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\t": quoted += "\\t"
            default:
                if scalar.value < 0x20 { quoted += String(format: "\\u%04x", scalar.value) } else { quoted.unicodeScalars.append(scalar) }
            }
        }
        return quoted + "\""
    }
}

/// The `key=value` fields of a log line, in order.
public struct LogFields: ExpressibleByDictionaryLiteral, Sendable {
    /// The fields.
    public var pairs: [(String, String)]

    public init(dictionaryLiteral elements: (String, String)...) {
        self.pairs = elements
    }

    /// Adds a field at the end.
    public mutating func append(_ key: String, _ value: String) {
        pairs.append((key, value))
    }
}
