extension TaskMessage {
    /// The largest message Celeriac sends or takes by default: 64 MiB. Larger payloads belong in
    /// a store the task reads (a file, an object store), with their address in the message.
    public static let defaultMaximumSize = 64 * 1024 * 1024

    /// A lower bound of the envelope's size, counted without encoding it: the JSON text of the
    /// arguments alone (base64 makes the envelope a third larger). Stops counting past `limit`.
    public func minimumEncodedSize(stoppingAfter limit: Int = .max) -> Int {
        var total = 0
        func add(_ value: JSONValue) {
            guard total <= limit else { return }
            switch value {
            case .null, .bool: total += 4
            case .integer, .double: total += 1
            case .string(let text): total += text.utf8.count + 2
            case .array(let elements):
                total += 2
                for element in elements { add(element) }
            case .object(let object):
                total += 2
                for (key, member) in object {
                    total += key.utf8.count + 3
                    add(member)
                }
            }
        }
        for argument in args { add(argument) }
        add(.object(kwargs))
        return total
    }

    /// The largest `retries` header taken: `retries + 1` must not overflow, and no task retries
    /// a billion times.
    public static let maximumRetries = 1_000_000_000

    /// Refuses a message whose values cannot be meant: a `retries` that is not a whole number in
    /// `0...maximumRetries`, a `timelimit` entry that is not finite seconds in
    /// `0...OutsideNumber.maximumSeconds`, an `eta` or `expires` that is not a timestamp, a
    /// negative `group_index`, and any signature in `embed` (callbacks, errbacks, chain steps,
    /// chord body, at any depth) whose `countdown`, `expires` or time limits are out of range.
    /// The worker dead-letters such a message and stores FAILURE for its id.
    /// - Throws: ``CeleryProtocolError`` with code `invalidValue`, naming the field and the value.
    public func checkValues() throws {
        if let retries = present(headers["retries"]) {
            guard retries.doubleValue.flatMap({ OutsideNumber.integer($0, in: 0...Self.maximumRetries) }) != nil else {
                throw Self.invalid("headers.retries", retries, "a whole number in 0...\(Self.maximumRetries)")
            }
        }
        if let limits = present(headers["timelimit"]) {
            guard case .array(let pair) = limits, pair.count <= 2 else {
                throw Self.invalid("headers.timelimit", limits, "[hard, soft] in seconds")
            }
            for limit in pair where limit != .null {
                guard limit.doubleValue.flatMap(OutsideNumber.duration(seconds:)) != nil else {
                    throw Self.invalid("headers.timelimit", limit, Self.secondsRange)
                }
            }
        }
        for name in ["eta", "expires"] {
            guard let value = present(headers[name]) else { continue }
            guard let text = value.stringValue, (try? CeleryTimestamp.parse(text)) != nil else {
                throw Self.invalid("headers.\(name)", value, "an ISO 8601 timestamp")
            }
        }
        if let index = present(headers["group_index"]) {
            guard index.doubleValue.flatMap({ OutsideNumber.integer($0, in: 0...Int(Int32.max)) }) != nil else {
                throw Self.invalid("headers.group_index", index, "a whole number ≥ 0")
            }
        }
        for name in ["callbacks", "errbacks", "chain"] {
            guard let list = present(embed[name]) else { continue }
            guard case .array(let signatures) = list else { throw Self.invalid("embed.\(name)", list, "a list of signatures") }
            for signature in signatures { try Signature.checkValues(signature, path: "embed.\(name)") }
        }
        if let chord = present(embed["chord"]) { try Signature.checkValues(chord, path: "embed.chord") }
    }

    static let secondsRange = OutsideNumber.secondsRange

    static func invalid(_ field: String, _ value: JSONValue, _ expected: String) -> CeleryProtocolError {
        CeleryProtocolError(.invalidValue, "\(field) is \(shown(value, limit: 80)); it must be \(expected)")
    }

    /// `value` as JSON, cut at `limit` characters: for error texts quoting a value from outside.
    static func shown(_ value: JSONValue, limit: Int) -> String {
        let text = value.serializedString
        return text.count > limit ? String(text.prefix(limit)) + "…" : text
    }

    private func present(_ value: JSONValue?) -> JSONValue? { value == .null ? nil : value }
}

extension Signature {
    /// The deepest nesting of signatures checked (chains in chords in groups ...); deeper is refused.
    static let maximumNesting = 64

    /// Checks a signature dict found in a message, and every signature nested in it (its `link`,
    /// `link_error`, `chain` and `chord` options, a composite's tasks, header and body): each must
    /// be a signature, and its options in range (see ``taskOptions``).
    /// - Throws: ``CeleryProtocolError`` (`missingField`, `invalidValue`) naming where it is.
    static func checkValues(_ value: JSONValue, path: String, depth: Int = 0) throws {
        guard depth < maximumNesting else {
            throw CeleryProtocolError(.invalidValue, "\(path) nests signatures deeper than \(maximumNesting) levels")
        }
        let signature: Signature
        do {
            signature = try Signature(value)
            _ = try signature.taskOptions
        } catch let error as CeleryProtocolError {
            throw CeleryProtocolError(error.code, "\(path): \(error.message)")
        }
        var nested: [(JSONValue, String)] = []
        for name in ["link", "link_error", "chain"] {
            nested += signatureList(signature.options[name]).map { ($0, "\(path).options.\(name)") }
        }
        if let chord = signature.options["chord"], chord != .null { nested.append((chord, "\(path).options.chord")) }
        if let tasks = signature.kwargs["tasks"]?.arrayValue { nested += tasks.map { ($0, "\(path).kwargs.tasks") } }
        for part in ["header", "body"] {
            switch signature.kwargs[part] {
            case .array(let header)?: nested += header.map { ($0, "\(path).kwargs.\(part)") }
            case .object?: nested.append((signature.kwargs[part] ?? .null, "\(path).kwargs.\(part)"))
            default: break
            }
        }
        for (child, childPath) in nested { try checkValues(child, path: childPath, depth: depth + 1) }
    }
}
