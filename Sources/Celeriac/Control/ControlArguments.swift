/// A control argument that is out of range or of the wrong type; the worker replies with
/// ``reply`` (`{"error": ...}`, as Celery's control replies do) and changes nothing.
struct ControlArgumentError: Error, Sendable, CustomStringConvertible {
    let description: String

    /// The error reply for the control client.
    var reply: JSONValue { ["error": .string(description)] }
}

extension ControlRequest {
    /// Argument `name` as a whole number in `range`; `fallback` when it is absent or null.
    /// - Throws: ``ControlArgumentError`` for anything else (text, a fraction, NaN, out of range).
    func wholeNumber(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(ControlArgumentError) -> Int {
        guard let value = arguments[name], value != .null else { return fallback }
        guard let number = value.doubleValue.flatMap({ OutsideNumber.integer($0, in: range) }) else {
            throw ControlArgumentError(
                description: "\(name) must be a whole number in \(range.lowerBound)...\(range.upperBound), not \(TaskMessage.shown(value, limit: 40))"
            )
        }
        return number
    }

    /// Argument `name` as a span of seconds; `nil` when it is absent or null.
    /// - Throws: ``ControlArgumentError`` unless it is finite seconds in
    ///   `0...OutsideNumber.maximumSeconds`.
    func seconds(_ name: String) throws(ControlArgumentError) -> Duration? {
        guard let value = arguments[name], value != .null else { return nil }
        guard let duration = value.doubleValue.flatMap(OutsideNumber.duration(seconds:)) else {
            throw ControlArgumentError(description: "\(name) must be \(TaskMessage.secondsRange), not \(TaskMessage.shown(value, limit: 40))")
        }
        return duration
    }
}
