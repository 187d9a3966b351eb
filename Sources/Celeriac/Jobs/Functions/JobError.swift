/// Why a job could not be submitted, found or read.
public struct JobError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        /// No processing function of that name is registered.
        public static let unknownFunction = Code("unknownFunction")
        /// The function's parameters are wrong; ``JobError/field`` says which one.
        public static let invalidParameters = Code("invalidParameters")
        /// The dataset cannot be read (missing file, empty list, unreadable header).
        public static let datasetUnavailable = Code("datasetUnavailable")
        /// The spec is inconsistent (partition size, threshold, format).
        public static let invalidSpec = Code("invalidSpec")
        /// No job has this id (never submitted, or expired).
        public static let notFound = Code("notFound")
        /// The job ended without a result (failed or cancelled).
        public static let noResult = Code("noResult")
    }

    /// The kind of problem.
    public let code: Code
    /// The parameter at fault (`"rules.age.min"`), for `invalidParameters`.
    public let field: String?
    /// What is wrong, and what to do about it.
    public let message: String

    init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String {
        field.map { "parameter \($0): \(message)" } ?? message
    }
}
