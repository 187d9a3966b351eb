/// The broker and result backend URLs every Celeriac executable resolves the same way.
///
/// Broker: `--broker URL`, else `CELERIAC_BROKER_URL`, else `redis://127.0.0.1:6379/0`.
/// Backend: `--backend URL`, else `CELERIAC_RESULT_BACKEND`, else the broker.
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

    /// The `--broker` and `--backend` options, for an executable's option table.
    public static let options: [CommandLineOption] = [
        CommandLineOption(
            "broker", value: "URL",
            help: "Broker Redis URL (env CELERIAC_BROKER_URL, default \(defaultBrokerURL))."),
        CommandLineOption(
            "backend", value: "URL",
            help: "Result backend Redis URL (env CELERIAC_RESULT_BACKEND, default: the broker)."),
    ]

    /// Resolves the URLs from a parsed command line and the environment.
    public init(_ commandLine: ParsedCommandLine, environment: [String: String]) {
        let broker = commandLine.value("broker") ?? environment["CELERIAC_BROKER_URL"].nonEmpty
            ?? ConnectionSettings.defaultBrokerURL
        let backend = commandLine.value("backend") ?? environment["CELERIAC_RESULT_BACKEND"].nonEmpty ?? broker
        self.init(brokerURL: broker, backendURL: backend)
    }
}

extension Optional where Wrapped == String {
    fileprivate var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}
