import Celeriac
import Foundation

/// The example tasks every Celeriac worker can register, under the names the documentation, the
/// tests and the Python interop app use (`celeriac.examples.*`).
public enum ExampleTasks {
    /// `add(x, y)` → x + y.
    public enum Add: CeleriacTask {
        public static let name = "celeriac.examples.add"
        public static let argumentNames = ["x", "y"]
        public struct Arguments: Codable, Sendable {
            public var x: JSONValue
            public var y: JSONValue
            public init(x: JSONValue, y: JSONValue) {
                self.x = x
                self.y = y
            }
        }
        public typealias Result = JSONValue
    }

    /// `mul(x, y)` → x × y.
    public enum Multiply: CeleriacTask {
        public static let name = "celeriac.examples.mul"
        public static let argumentNames = ["x", "y"]
        public typealias Arguments = Add.Arguments
        public typealias Result = JSONValue
    }

    /// `xsum(numbers)` → the sum.
    public enum Sum: CeleriacTask {
        public static let name = "celeriac.examples.xsum"
        public static let argumentNames = ["numbers"]
        public struct Arguments: Codable, Sendable {
            public var numbers: [JSONValue]
            public init(numbers: [JSONValue]) { self.numbers = numbers }
        }
        public typealias Result = JSONValue
    }

    /// `sleep(seconds)` → seconds, after sleeping (cooperatively: it stops at a soft time limit).
    public enum Sleep: CeleriacTask {
        public static let name = "celeriac.examples.sleep"
        public static let argumentNames = ["seconds"]
        public struct Arguments: Codable, Sendable {
            public var seconds: Double
            public init(seconds: Double) { self.seconds = seconds }
        }
        public typealias Result = JSONValue
    }

    /// `fail(message)` raises `ValueError(message)`.
    public enum Fail: CeleriacTask {
        public static let name = "celeriac.examples.fail"
        public static let argumentNames = ["message"]
        public struct Arguments: Codable, Sendable {
            public var message: String
            public init(message: String) { self.message = message }
        }
        public typealias Result = JSONValue
    }

    /// `progress(steps)` stores PROGRESS `{"current": i, "total": steps}` at each step, then
    /// returns `steps`.
    public enum Progress: CeleriacTask {
        public static let name = "celeriac.examples.progress"
        public static let argumentNames = ["steps"]
        public struct Arguments: Codable, Sendable {
            public var steps: Int
            public init(steps: Int) { self.steps = steps }
        }
        public typealias Result = Int
    }

    /// `noop()` → None.
    public enum Noop: CeleriacTask {
        public static let name = "celeriac.examples.noop"
        public struct Arguments: Codable, Sendable { public init() {} }
        public typealias Result = JSONValue
    }

    /// How long ``Progress`` waits between steps.
    public static let progressStepDelay: Duration = .milliseconds(300)

    /// Registers the seven example tasks.
    /// - Throws: ``TaskRegistryError`` when one of their names is registered already.
    public static func register(in registry: TaskRegistry) throws {
        try registry.register(Add.self) { arguments, _ in try add(arguments.x, arguments.y) }
        try registry.register(Multiply.self) { arguments, _ in
            try arithmetic(arguments.x, arguments.y, { $0.multipliedReportingOverflow(by: $1) }, *, "*")
        }
        try registry.register(Sum.self) { arguments, _ in
            try arguments.numbers.reduce(JSONValue.integer(0)) { try add($0, $1) }
        }
        try registry.register(Sleep.self) { arguments, context in
            // In slices, so that a revoke with terminate (or a soft time limit) stops it promptly.
            guard let span = OutsideNumber.duration(seconds: arguments.seconds) else {
                throw TaskFailure(type: "ValueError", message: "seconds must be \(OutsideNumber.secondsRange), not \(arguments.seconds)")
            }
            let until = ContinuousClock.now + span
            while ContinuousClock.now < until {
                try context.checkCancellation()
                try await Task.sleep(for: min(.milliseconds(100), until - ContinuousClock.now))
            }
            try context.checkCancellation()
            let seconds = arguments.seconds
            return seconds.rounded() == seconds && abs(seconds) < 1e15 ? .integer(Int(seconds)) : .double(seconds)
        }
        try registry.register(Fail.self) { arguments, _ in
            throw TaskFailure(type: "ValueError", message: arguments.message)
        }
        try registry.register(Progress.self) { arguments, context in
            for step in 0..<max(0, arguments.steps) {
                try await context.updateState("PROGRESS", meta: ["current": .integer(step), "total": .integer(arguments.steps)])
                try await Task.sleep(for: progressStepDelay)
                try context.checkCancellation()
            }
            return arguments.steps
        }
        try registry.register(Noop.self) { _, _ in .null }
    }

    private static func add(_ left: JSONValue, _ right: JSONValue) throws -> JSONValue {
        try arithmetic(left, right, { $0.addingReportingOverflow($1) }, +, "+")
    }

    /// Python's `+`/`*` on numbers: ints stay ints (unless they overflow), else floats; anything
    /// else is Python's `TypeError`.
    private static func arithmetic(
        _ left: JSONValue, _ right: JSONValue, _ integerOperation: (Int, Int) -> (partialValue: Int, overflow: Bool),
        _ doubleOperation: (Double, Double) -> Double, _ symbol: String
    ) throws -> JSONValue {
        if case .integer(let a) = left, case .integer(let b) = right {
            let (value, overflow) = integerOperation(a, b)
            if !overflow { return .integer(value) }
        }
        guard let a = left.doubleValue, let b = right.doubleValue else {
            throw TaskFailure(
                type: "TypeError",
                message: "unsupported operand type(s) for \(symbol): \(left.pythonTypeName) and \(right.pythonTypeName)")
        }
        return .double(doubleOperation(a, b))
    }
}

extension JSONValue {
    /// The Python type name of the equivalent value, for error messages.
    var pythonTypeName: String {
        switch self {
        case .null: return "'NoneType'"
        case .bool: return "'bool'"
        case .integer: return "'int'"
        case .double: return "'float'"
        case .string: return "'str'"
        case .array: return "'list'"
        case .object: return "'dict'"
        }
    }
}
