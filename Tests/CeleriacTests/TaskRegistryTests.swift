import Celeriac
import CeleriacExamples
import Testing

/// Registration: one handler per name.
@Suite struct TaskRegistryTests {
    @Test func registeringANameTwiceIsAnErrorAndKeepsTheFirst() throws {
        let registry = TaskRegistry()
        try registry.register("reports.build", settings: TaskSettings(acksLate: true)) { _, _, _ in .integer(1) }
        let error = #expect(throws: TaskRegistryError.self) {
            try registry.register("reports.build") { _, _, _ in .integer(2) }
        }
        #expect(error == .alreadyRegistered("reports.build"))
        #expect(error?.description.contains("'reports.build' is registered already") == true)
        #expect(registry["reports.build"]?.settings.acksLate == true)
        // The typed form refuses the same way, and so does a second set of the examples.
        #expect(throws: TaskRegistryError.alreadyRegistered(Add.name)) {
            try ExampleTasks.register(in: registry)
            try registry.register(Add.self) { arguments, _ in arguments.x + arguments.y }
        }
        #expect(throws: TaskRegistryError.self) { try ExampleTasks.register(in: registry) }
        #expect(registry.names.count == 8)
    }

    enum Total: CeleriacTask {
        static let name = "test.total"
        struct Arguments: Codable, Sendable { var numbers: [Int] }
        typealias Result = Int
    }

    /// A typed task without argumentNames called positionally (as a chord body is, with the
    /// header's results) fails with a TypeError that says what to declare.
    @Test func positionalArgumentsWithoutNamesSayWhatToDeclare() async throws {
        try await withWorker(register: { registry in
            try registry.register(Total.self) { arguments, _ in arguments.numbers.reduce(0, +) }
        }) { harness in
            let positional = try await harness.app.send(Total.name, args: [[1, 2, 3]])
            let failure = await #expect(throws: TaskFailure.self) { try await positional.get(timeout: .seconds(10)) }
            #expect(failure?.type == "TypeError")
            #expect(failure?.message.contains("test.total() got 1 positional argument, but Total declares no argumentNames") == true)
            #expect(try await harness.app.send(Total.name, kwargs: ["numbers": [1, 2, 3]]).get(timeout: .seconds(10)) == 6)
        }
    }
}
