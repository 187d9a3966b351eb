import Foundation
import RESP

/// The broker and result backend URLs every Celeriac executable resolves the same way.
///
/// Broker: `--broker URL`, else `CELERIAC_BROKER_URL`, else `redis://127.0.0.1:6379/0`.
/// Backend: `--backend URL`, else `CELERIAC_RESULT_BACKEND`, else the broker.
/// Passwords: in the URL, or read from `--broker-password-file` / `--backend-password-file`
/// (`CELERIAC_BROKER_PASSWORD_FILE` / `CELERIAC_BACKEND_PASSWORD_FILE`), which keeps them out of `ps`.
public struct ConnectionSettings: Sendable, Hashable {
    /// The broker URL used when neither the option nor the environment gives one.
    public static let defaultBrokerURL = "redis://127.0.0.1:6379/0"

    /// The broker's Redis URL.
    public var brokerURL: String
    /// The result backend's Redis URL.
    public var backendURL: String

    /// Creates settings from explicit URLs.
    public init(brokerURL: String, backendURL: String? = nil) {
        self.brokerURL = brokerURL
        self.backendURL = backendURL ?? brokerURL
    }

    /// The `--broker` and `--backend` options and their password files, for an executable's option table.
    public static let options: [CommandLineOption] = [
        CommandLineOption(
            "broker", value: "URL",
            help: "Broker Redis URL (env CELERIAC_BROKER_URL, default \(defaultBrokerURL))."),
        CommandLineOption(
            "backend", value: "URL",
            help: "Result backend Redis URL (env CELERIAC_RESULT_BACKEND, default: the broker)."),
        CommandLineOption(
            "broker-password-file", value: "PATH",
            help: "Read the broker's password from PATH, kept out of ps (env CELERIAC_BROKER_PASSWORD_FILE)."),
        CommandLineOption(
            "backend-password-file", value: "PATH",
            help: "Read the backend's password from PATH (env CELERIAC_BACKEND_PASSWORD_FILE; default: the broker's when the backend is the broker)."),
    ]

    /// Resolves the URLs from a parsed command line and the environment, adding the passwords of
    /// the password files (the file's text without its final newline).
    /// - Throws: ``UsageError`` when a password file cannot be read or is empty, or its URL is
    ///   malformed or holds a password already; the message names the file, never the password.
    public init(_ commandLine: ParsedCommandLine, environment: [String: String]) throws(UsageError) {
        let givenBroker =
            commandLine.value("broker") ?? environment["CELERIAC_BROKER_URL"].nonEmpty
            ?? ConnectionSettings.defaultBrokerURL
        let givenBackend = commandLine.value("backend") ?? environment["CELERIAC_RESULT_BACKEND"].nonEmpty
        var broker = givenBroker
        if let file = commandLine.value("broker-password-file") ?? environment["CELERIAC_BROKER_PASSWORD_FILE"].nonEmpty {
            broker = try Self.url(givenBroker, passwordFile: file, role: "broker")
        }
        var backend = givenBackend ?? broker
        if let file = commandLine.value("backend-password-file") ?? environment["CELERIAC_BACKEND_PASSWORD_FILE"].nonEmpty {
            backend = try Self.url(givenBackend ?? givenBroker, passwordFile: file, role: "backend")
        }
        self.init(brokerURL: broker, backendURL: backend)
    }

    private static func url(_ url: String, passwordFile path: String, role: String) throws(UsageError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UsageError("cannot read the \(role) password file '\(TerminalText.safe(path))'")
        }
        var password = String(decoding: data, as: UTF8.self)
        // The final line ending an editor adds ("\r\n" is one Character, so `hasSuffix("\n")` misses it).
        if password.hasSuffix("\r\n") || password.hasSuffix("\n") { password.removeLast() }
        guard !password.isEmpty else {
            throw UsageError("the \(role) password file '\(TerminalText.safe(path))' is empty")
        }
        do {
            return try RedisConfiguration.url(url, addingPassword: password)
        } catch {
            throw UsageError("--\(role)-password-file: \(error)")
        }
    }
}

extension Optional where Wrapped == String {
    fileprivate var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}
